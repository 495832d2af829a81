package atrgrpc_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/balancer/weightedroundrobin" // registers weighted_round_robin
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
)

// pooled is a test service whose UnaryCall holds one of a pool of
// workers for a fixed service time: a replica with that many workers.
type pooled struct {
	testgrpc.UnimplementedTestServiceServer
	workers chan struct{}
	service time.Duration
}

func (p *pooled) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	select {
	case p.workers <- struct{}{}:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	defer func() { <-p.workers }()
	select {
	case <-time.After(p.service):
		return &testgrpc.SimpleResponse{}, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// replica is one real gRPC server on loopback guarded by its own engine
// and reporting its load with a LoadReporter.
type replica struct {
	addr     string
	received atomic.Int64 // calls that reached the server, rejected ones included
	counting atomic.Bool
	rep      *atrgrpc.LoadReporter
}

func startReplica(t *testing.T, workers int, service time.Duration, report bool) *replica {
	t.Helper()
	a, err := atrion.New()
	if err != nil {
		t.Fatal(err)
	}
	rp := &replica{rep: atrgrpc.NewLoadReporter(a)}
	count := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if rp.counting.Load() {
			rp.received.Add(1)
		}
		return h(ctx, req)
	}
	chain := []grpc.UnaryServerInterceptor{count, atrgrpc.UnaryServerInterceptor(a)}
	if report {
		chain = []grpc.UnaryServerInterceptor{count, rp.rep.UnaryServerInterceptor(), atrgrpc.UnaryServerInterceptor(a)}
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(chain...))
	testgrpc.RegisterTestServiceServer(srv, &pooled{workers: make(chan struct{}, workers), service: service})
	if err := rp.rep.Register(srv); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Stop()
		rp.rep.Close()
		a.Close(context.Background())
	})
	return rp
}

// phases numbers the phases' resolver schemes.
var phases atomic.Int64

// phase is what one balancing policy achieved against three replicas.
type phase struct {
	policy  string
	share   [3]float64 // of the calls the replicas received
	goodput float64    // OK calls per second at the client
	sent    int
	ok      int
}

// runPhase starts three replicas, the last with a quarter of the others'
// workers at three times their service time, and offers them rate calls
// per second through one client balancing with serviceConfig: warm, then
// measured. Every call has a deadline of 250 ms. report says whether the
// servers attach their load reports to their calls.
func runPhase(t *testing.T, policy, serviceConfig string, report bool, rate int, warm, measure time.Duration) phase {
	reps := []*replica{
		startReplica(t, 8, 5*time.Millisecond, report),  // 1,600/s
		startReplica(t, 8, 5*time.Millisecond, report),  // 1,600/s
		startReplica(t, 2, 15*time.Millisecond, report), // 133/s: overloaded by a third of 600/s
	}
	r := manual.NewBuilderWithScheme(fmt.Sprintf("atrion-phase-%d", phases.Add(1)))
	var eps []resolver.Endpoint
	for _, rp := range reps {
		eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: rp.addr}}})
	}
	r.InitialState(resolver.State{Endpoints: eps})
	conn, err := grpc.NewClient(r.Scheme()+":///replicas", grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultServiceConfig(serviceConfig))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)

	var ok, sent atomic.Int64
	var counting atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	total := int((warm + measure).Seconds() * float64(rate))
	for i := range total { // open loop: calls leave on schedule, whatever the answers
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if i == int(warm.Seconds()*float64(rate)) {
			time.Sleep(time.Until(at))
			for _, rp := range reps {
				rp.counting.Store(true)
			}
			counting.Store(true)
		}
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func(measured bool) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			defer cancel()
			_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
			if measured {
				sent.Add(1)
				if status.Code(err) == codes.OK {
					ok.Add(1)
				}
			}
		}(counting.Load())
	}
	wg.Wait()
	p := phase{policy: policy, sent: int(sent.Load()), ok: int(ok.Load())}
	var all int64
	for _, rp := range reps {
		all += rp.received.Load()
	}
	for i, rp := range reps {
		p.share[i] = float64(rp.received.Load()) / float64(max(all, 1))
	}
	p.goodput = float64(p.ok) / measure.Seconds()
	return p
}

// weightedRoundRobin is grpc-go's weighted_round_robin on per-call
// reports, with no blackout and weights recomputed every 100 ms (its
// fastest), so that a test of seconds sees it act.
const weightedRoundRobin = `{"loadBalancingConfig":[{"weighted_round_robin":{"blackoutPeriod":"0s","weightUpdatePeriod":"0.1s"}}]}`

// TestLoadReportsRaiseGoodput runs three real gRPC servers on
// loopback, one with far fewer and slower workers, at 600 calls a second,
// behind round robin, behind weighted_round_robin with servers that send
// no load reports (the control: it falls back to round robin), and behind
// weighted_round_robin fed by the servers' LoadReporters: with the
// reports, the overloaded server's share of the calls falls, and goodput
// rises.
func TestLoadReportsRaiseGoodput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 18 s of load")
	}
	if raceEnabled {
		t.Skip("goodput under the race detector measures the detector: make test runs this in its second pass, without it")
	}
	const rate = 600
	warm, measure := 2*time.Second, 4*time.Second
	rr := runPhase(t, "round_robin", `{"loadBalancingConfig":[{"round_robin":{}}]}`, true, rate, warm, measure)
	blind := runPhase(t, "weighted_round_robin, no reports", weightedRoundRobin, false, rate, warm, measure)
	wrr := runPhase(t, "weighted_round_robin, Atrion's reports", weightedRoundRobin, true, rate, warm, measure)
	var table strings.Builder
	fmt.Fprintf(&table, "| policy | fast 1 | fast 2 | overloaded | goodput (OK/s) | OK / sent |\n|---|---|---|---|---|---|\n")
	for _, p := range []phase{rr, blind, wrr} {
		fmt.Fprintf(&table, "| %s | %.1f %% | %.1f %% | %.1f %% | %.0f | %d / %d |\n", p.policy,
			100*p.share[0], 100*p.share[1], 100*p.share[2], p.goodput, p.ok, p.sent)
	}
	t.Logf("%d calls/s offered, %v measured after %v warm-up:\n%s", rate, measure, warm, table.String())
	if rr.share[2] < 0.25 || blind.share[2] < 0.25 {
		t.Fatalf("without reports the overloaded server got %.1f %% (round robin) and %.1f %% (weighted_round_robin) of the calls: want about a third",
			100*rr.share[2], 100*blind.share[2])
	}
	if wrr.share[2] > rr.share[2]-0.1 {
		t.Errorf("weighted_round_robin sent the overloaded server %.1f %% of the calls against round robin's %.1f %%: want it to fall",
			100*wrr.share[2], 100*rr.share[2])
	}
	if wrr.goodput <= rr.goodput {
		t.Errorf("goodput %.0f/s with weighted_round_robin, %.0f/s with round robin: want it higher", wrr.goodput, rr.goodput)
	}
}
