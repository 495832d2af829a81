package grpcload

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// The server's model: a pool of Workers, each call holding one for
// Service (slept, so capacity does not depend on the CPU).
const (
	Workers = 8
	Service = 40 * time.Millisecond
	// Capacity is the calls per second the pool serves.
	Capacity = float64(Workers) / (float64(Service) / float64(time.Second))
	// Method is the one method the load goes to, and Atrion's route.
	Method = "/grpc.testing.TestService/UnaryCall"
	// BaseResistance is R_base under atrion.New() defaults.
	BaseResistance = 10
)

// childEnv names the contestant a server child guards its server with.
const childEnv = "ATRION_GRPCLOAD_SERVE"

// childLifetime bounds a server child that its parent never stops.
const childLifetime = 10 * time.Minute

// ServerStats is what a server saw between the start of measurement and
// its end.
type ServerStats struct {
	// Started counts calls that took a worker; Served those that finished
	// before their caller's deadline; Wasted those that finished after it
	// (work that could not be used); Abandoned calls whose caller left
	// while they waited for a worker.
	Started, Served, Wasted, Abandoned int64
	Route                              *RouteStats `json:",omitempty"` // Atrion's route; nil for the peers
}

// RouteStats is Atrion's view of the route over the measurement.
type RouteStats struct {
	Successes, Failures, Slow, Ignored, Rejected uint64
	// ErrorRate is Failures / (Successes + Failures).
	ErrorRate float64
	// MeanR and MaxR are over samples every 100 ms; EndR is the last.
	MeanR, MaxR, EndR float64
	BreakPoint        float64
	Mode              string
}

// pool is the handler's workers and its counters.
type pool struct {
	workers                            chan struct{}
	started, served, wasted, abandoned atomic.Int64
}

// testService serves UnaryCall on the pool; the other methods are
// unimplemented.
type testService struct {
	testgrpc.UnimplementedTestServiceServer
	p *pool
}

// UnaryCall waits for a worker (leaving when its caller does), holds it
// for Service, and counts the work wasted when its caller's deadline
// passed meanwhile: started work runs to its end, as a query does.
func (s testService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	select {
	case s.p.workers <- struct{}{}:
	case <-ctx.Done():
		s.p.abandoned.Add(1)
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	s.p.started.Add(1)
	time.Sleep(Service)
	<-s.p.workers
	if late(ctx) {
		s.p.wasted.Add(1)
		err := ctx.Err()
		if err == nil { // the deadline has passed, its timer not fired yet
			err = context.DeadlineExceeded
		}
		return nil, status.FromContextError(err).Err()
	}
	s.p.served.Add(1)
	return &testgrpc.SimpleResponse{}, nil
}

// late reports whether ctx's caller has gone or its deadline has passed
// (by the clock: the context's timer fires a little after it).
func late(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// guard returns the server option of a contestant and, for Atrion, the
// engine.
func guard(contestant string) (grpc.ServerOption, *atrion.Atrion, error) {
	switch contestant {
	case None:
		return grpc.EmptyServerOption{}, nil, nil
	case Failsafe:
		// as failsafegrpc's documentation sets it up: the adaptive
		// limiter's defaults around the handler
		l := adaptivelimiter.NewBuilder[any]().Build()
		return grpc.UnaryInterceptor(failsafegrpc.NewUnaryServerInterceptor[any](l)), nil, nil
	case Atrion:
		a, err := atrion.New()
		if err != nil {
			return nil, nil, err
		}
		return grpc.UnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)), a, nil
	}
	return nil, nil, fmt.Errorf("unknown contestant %q", contestant)
}

// ServeChild runs a server child when the environment asks for one: it
// serves on 127.0.0.1, prints its address as a JSON line, starts
// measuring on a "mark" line from stdin and, when stdin closes, prints
// its ServerStats as a JSON line and returns. child is false, with
// nothing done, in any other process.
func ServeChild() (child bool, err error) {
	contestant, ok := os.LookupEnv(childEnv)
	if !ok {
		return false, nil
	}
	return true, serve(contestant)
}

func serve(contestant string) error {
	opt, a, err := guard(contestant)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p := &pool{workers: make(chan struct{}, Workers)}
	srv := grpc.NewServer(opt)
	testgrpc.RegisterTestServiceServer(srv, testService{p: p})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	time.AfterFunc(childLifetime, func() { os.Exit(3) }) // an orphan never outlives its run by long
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(map[string]string{"addr": lis.Addr().String()}); err != nil {
		return err
	}

	var (
		base    ServerStats
		from    atrion.Totals
		samples *sampler
	)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "mark" || samples != nil {
			return fmt.Errorf("unexpected command %q", in.Text())
		}
		base = p.load()
		if a != nil {
			s, _ := a.Snapshot(Method)
			from = s.Totals
			samples = startSampler(a)
		} else {
			samples = &sampler{}
		}
	}
	if err := in.Err(); err != nil {
		return err
	}
	if samples == nil {
		return errors.New("stdin closed before the measurement started")
	}
	st := p.load().sub(base)
	if a != nil {
		st.Route = samples.stop(from)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	}
	return out.Encode(st)
}

func (p *pool) load() ServerStats {
	return ServerStats{Started: p.started.Load(), Served: p.served.Load(), Wasted: p.wasted.Load(), Abandoned: p.abandoned.Load()}
}

func (s ServerStats) sub(o ServerStats) ServerStats {
	return ServerStats{Started: s.Started - o.Started, Served: s.Served - o.Served, Wasted: s.Wasted - o.Wasted, Abandoned: s.Abandoned - o.Abandoned}
}

// sampler reads the route's R every 100 ms until stopped.
type sampler struct {
	a    *atrion.Atrion
	done chan struct{}
	wg   sync.WaitGroup
	n    int
	sum  float64
	max  float64
}

func startSampler(a *atrion.Atrion) *sampler {
	s := &sampler{a: a, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				if snap, ok := a.Snapshot(Method); ok {
					s.n++
					s.sum += snap.Resistance
					s.max = max(s.max, snap.Resistance)
				}
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the route's figures since from.
func (s *sampler) stop(from atrion.Totals) *RouteStats {
	close(s.done)
	s.wg.Wait()
	snap, ok := s.a.Snapshot(Method)
	if !ok {
		return &RouteStats{Mode: "untracked"}
	}
	t := snap.Totals
	r := &RouteStats{
		Successes: t.Successes - from.Successes, Failures: t.Failures - from.Failures,
		Slow: t.Slow - from.Slow, Ignored: t.Ignored - from.Ignored, Rejected: t.Rejected.Total() - from.Rejected.Total(),
		MaxR: max(s.max, snap.Resistance), EndR: snap.Resistance, BreakPoint: snap.BreakPoint, Mode: snap.Mode.String(),
	}
	if s.n > 0 {
		r.MeanR = s.sum / float64(s.n)
	}
	if n := r.Successes + r.Failures; n > 0 {
		r.ErrorRate = float64(r.Failures) / float64(n)
	}
	return r
}
