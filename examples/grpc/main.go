// Command grpc shows the gRPC adapter on both sides of a call. The server
// guards its methods with atrgrpc's server interceptors; its UnaryCall
// fails with Internal for a while (its "database" is down), so the
// method's circuit trips, rejections carry a retry pushback, and the
// circuit heals once the failures stop. The client guards its calls to
// the server with the client interceptors, so once the server fails the
// client sheds calls locally instead of sending them, and it reports
// every half second what its calls met.
//
//	go run . -mode server -addr 127.0.0.1:50051   # one terminal
//	go run . -mode client -addr 127.0.0.1:50051   # another
//	go run .                                      # both in one process, on a free port
//
// With -retry the client retries Unavailable (up to 3 attempts), waiting
// for the server's grpc-retry-pushback-ms instead of its own backoff. Both
// sides listen and dial on loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// method is the guarded method: grpc's interop TestService, used so the
// example needs no generated code of its own.
const method = "/grpc.testing.TestService/UnaryCall"

// config is the command line.
type config struct {
	mode     string        // server, client or both
	addr     string        // server address (loopback); both: "" for a free port
	duration time.Duration // how long to run; 0: until interrupted
	tick     time.Duration // the engines' tick
	failAt   time.Duration // when, after the server starts, UnaryCall starts failing
	failFor  time.Duration // for how long it fails
	retry    bool          // client: retry Unavailable per the server's pushback
}

func main() {
	var cfg config
	flag.StringVar(&cfg.mode, "mode", "both", "server, client, or both in one process")
	flag.StringVar(&cfg.addr, "addr", "", "server address on loopback (default 127.0.0.1:50051; both: a free port)")
	flag.DurationVar(&cfg.duration, "duration", 0, "stop after this long (0: 15s in mode both, else until interrupted)")
	flag.DurationVar(&cfg.tick, "tick", 100*time.Millisecond, "the engines' tick")
	flag.DurationVar(&cfg.failAt, "fail-at", 2*time.Second, "server: UnaryCall starts failing this long after start")
	flag.DurationVar(&cfg.failFor, "fail-for", 4*time.Second, "server: and fails for this long")
	flag.BoolVar(&cfg.retry, "retry", false, "client: retry Unavailable, honouring the server's pushback")
	flag.Parse()
	if cfg.duration == 0 && cfg.mode == "both" {
		cfg.duration = 15 * time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run runs the server, the client or both until ctx is done or the
// duration has passed, writing to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.duration < 0 || cfg.failAt < 0 || cfg.failFor < 0 {
		return errors.New("-duration, -fail-at and -fail-for must be ≥ 0")
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	w := &syncWriter{w: out}
	switch cfg.mode {
	case "server":
		lis, err := listen(orDefault(cfg.addr))
		if err != nil {
			return err
		}
		return serve(ctx, cfg, lis, w)
	case "client":
		if err := loopback(orDefault(cfg.addr)); err != nil {
			return err
		}
		return call(ctx, cfg, orDefault(cfg.addr), w)
	case "both":
		addr := cfg.addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		lis, err := listen(addr)
		if err != nil {
			return err
		}
		errc := make(chan error, 1)
		go func() { errc <- serve(ctx, cfg, lis, w) }()
		return errors.Join(call(ctx, cfg, lis.Addr().String(), w), <-errc)
	default:
		return fmt.Errorf("-mode %q: want server, client or both", cfg.mode)
	}
}

func orDefault(addr string) string {
	if addr == "" {
		return "127.0.0.1:50051"
	}
	return addr
}

// loopback refuses an address that is not on loopback: the example
// sends traffic nowhere else.
func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q: the example runs on loopback only", addr)
	}
	return nil
}

func listen(addr string) (net.Listener, error) {
	if err := loopback(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// newEngine returns an engine that prints its transitions, each line
// prefixed with side. Its scar heals three times faster than by default,
// so that a run of seconds shows a whole trip and recovery.
func newEngine(cfg config, side string, w io.Writer) (*atrion.Atrion, error) {
	return atrion.New(
		atrion.WithTick(cfg.tick),
		atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.3}),
		atrion.WithObserver(sink.Console(prefixed(w, side+": "), false)),
	)
}

// service is the guarded server: UnaryCall fails while its database is
// down.
type service struct {
	testgrpc.UnimplementedTestServiceServer
	down func() bool
}

func (s *service) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	time.Sleep(2 * time.Millisecond) // the work
	if s.down() {
		return nil, status.Error(codes.Internal, "database unavailable")
	}
	return &testgrpc.SimpleResponse{}, nil
}

// serve runs the guarded server on lis until ctx is done.
func serve(ctx context.Context, cfg config, lis net.Listener, w io.Writer) error {
	a, err := newEngine(cfg, "server", w)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)),
		grpc.ChainStreamInterceptor(atrgrpc.StreamServerInterceptor(a)),
	)
	start := time.Now()
	testgrpc.RegisterTestServiceServer(srv, &service{down: func() bool {
		t := time.Since(start)
		return t >= cfg.failAt && t < cfg.failAt+cfg.failFor
	}})
	// every registered method holds a slot of its own in the engine
	if err := atrgrpc.Reserve(a, srv); err != nil {
		return err
	}
	fmt.Fprintf(w, "server: listening on %s; %s fails from %v for %v\n", lis.Addr(), method, cfg.failAt, cfg.failFor)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	return srv.Serve(lis)
}

// retryPolicy retries Unavailable; grpc-go waits for the server's pushback
// rather than its backoff when the rejection carries one.
const retryPolicy = `{"methodConfig": [{
	"name": [{"service": "grpc.testing.TestService"}],
	"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
		"backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
}]}`

// tally counts what the client's calls met in one report interval.
type tally struct{ ok, failed, shedByServer, shedLocally atomic.Int64 }

// call sends calls to addr from two workers until ctx is done, reporting
// every half second.
func call(ctx context.Context, cfg config, addr string, w io.Writer) error {
	a, err := newEngine(cfg, "client", w)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(atrgrpc.UnaryClientInterceptor(a)),
		grpc.WithChainStreamInterceptor(atrgrpc.StreamClientInterceptor(a)),
	}
	if cfg.retry {
		opts = append(opts, grpc.WithDefaultServiceConfig(retryPolicy))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)

	var t tally
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				_, err := client.UnaryCall(cctx, &testgrpc.SimpleRequest{})
				cancel()
				if ctx.Err() == nil { // not cut short by the run ending
					t.count(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
			wg.Wait()
		case <-tick.C:
		}
		s, _ := a.Snapshot(method)
		fmt.Fprintf(w, "client: t=%4.1fs ok=%4d failed=%4d shed-by-server=%4d shed-locally=%4d  route %s\n",
			time.Since(start).Seconds(), t.ok.Swap(0), t.failed.Swap(0), t.shedByServer.Swap(0), t.shedLocally.Swap(0), s.Mode)
	}
	return nil
}

// count files a call's result.
func (t *tally) count(err error) {
	msg := status.Convert(err).Message()
	switch {
	case err == nil:
		t.ok.Add(1)
	case errors.Is(err, atrgrpc.ErrRejected): // this client's own guard
		t.shedLocally.Add(1)
	case status.Code(err) == codes.Unavailable && strings.HasPrefix(msg, "atrion: server"):
		t.shedByServer.Add(1)
	default:
		t.failed.Add(1)
	}
}

// syncWriter serialises writes from the engines' observers and the
// client's reports.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// prefixed writes each write (one line from the console observer) after
// prefix.
func prefixed(w io.Writer, prefix string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if _, err := io.WriteString(w, prefix+string(p)); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
