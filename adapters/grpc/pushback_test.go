package atrgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A server that sheds a client's calls (its own rejection, with a
// pushback) is not a failing dependency: the client records its calls as
// ignored and its route never opens, and it keeps sending, so that the
// server's recovery sees traffic. (The gRPC example's client used to flip
// between RECOVERING and CIRCUIT_OPEN on its server's rejections long
// after the server had healed.) Adaptive throttling, which would send
// fewer, is off here (TestClientThrottlesOnPushback).
func TestClientIgnoresServerPushback(t *testing.T) {
	r := newRig(t, setup{engine: []atrion.Option{quickTrip}, guardClient: true, client: []atrgrpc.Option{atrgrpc.WithoutThrottling()}})
	call := func() error {
		_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	rejections := 0
	for round := range 30 {
		if s, _ := r.a.Snapshot(unaryMethod); s.Mode != atrion.ModeCircuitOpen {
			atriontest.Trip(t, r.a, r.clk, unaryMethod) // only the server's engine hears of it
		}
		before := totals(t, r.a, unaryMethod).Decisions
		for range 3 { // every call is sent, the server's rejections notwithstanding
			err := call()
			if errors.Is(err, atrgrpc.ErrRejected) {
				t.Fatalf("round %d: the client shed a call itself: %v", round, err)
			}
			if err != nil {
				rejected(t, err, codes.Unavailable) // the server's rejection, passed on with its pushback
				rejections++
			}
		}
		if got := totals(t, r.a, unaryMethod).Decisions; got != before+3 {
			t.Fatalf("round %d: the server decided %d calls, want 3", round, got-before)
		}
		r.clk.Advance(100 * time.Millisecond)
	}
	s, _ := r.ca.Snapshot(unaryMethod)
	if rejections < 60 || s.Totals.Failures != 0 || s.Totals.Ignored != uint64(rejections) ||
		s.Mode != atrion.ModeOperational || s.TransitionsByMode != ([4][4]uint64{}) {
		t.Fatalf("client route after %d server rejections: %v, totals %+v, transitions %v; "+
			"want no failure, every rejection ignored, OPERATIONAL throughout", rejections, s.Mode, s.Totals, s.TransitionsByMode)
	}
}

// A server that pushes back in the grpc-retry-pushback-ms trailer alone
// (no RetryInfo detail) is heard on streams, and on unary calls whose
// caller asked for the trailer.
func TestClientReadsPushbackTrailer(t *testing.T) {
	r := newRig(t, setup{noServerGuard: true, guardClient: true,
		outerUnary: func(ctx context.Context, _ any, _ *grpc.UnaryServerInfo, _ grpc.UnaryHandler) (any, error) {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(atrgrpc.PushbackTrailer, "700"))
			return nil, status.Error(codes.Unavailable, "busy")
		},
		outerStream: func(_ any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, _ grpc.StreamHandler) error {
			ss.SetTrailer(metadata.Pairs(atrgrpc.PushbackTrailer, "700"))
			return status.Error(codes.Unavailable, "busy")
		},
	})
	// without the trailer asked for, a unary call cannot see it: a failure
	if _, err := r.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("unary call: %v", err)
	}
	if tt := totals(t, r.ca, unaryMethod); tt.Failures != 1 {
		t.Fatalf("unary call, trailer not asked for: %+v, want one failure", tt)
	}
	var md metadata.MD
	if _, err := r.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&md)); status.Code(err) != codes.Unavailable {
		t.Fatalf("unary call: %v", err)
	}
	if tt := totals(t, r.ca, unaryMethod); tt.Failures != 1 || tt.Ignored != 1 {
		t.Fatalf("unary call with its trailer read: %+v, want it ignored", tt)
	}

	st, err := r.client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := drain(st.Recv); status.Code(err) != codes.Unavailable {
		t.Fatalf("stream: %v", err)
	}
	waitFor(t, "the stream's outcome", func() bool { return totals(t, r.ca, duplexMethod).Ignored == 1 })
	if tt := totals(t, r.ca, duplexMethod); tt.Failures != 0 {
		t.Errorf("stream pushed back: %+v, want it ignored", tt)
	}
}

// A server's plain Unavailable, without a pushback, is still a failure.
func TestClientUnavailableWithoutPushbackFails(t *testing.T) {
	r := newRig(t, setup{noServerGuard: true, guardClient: true})
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.Unavailable, "down")); status.Code(err) != codes.Unavailable {
		t.Fatal(err)
	}
	if tt := totals(t, r.ca, unaryMethod); tt.Failures != 1 {
		t.Fatalf("totals %+v, want one failure", tt)
	}
}

// hookCalls records a decision hook's calls.
type hookCalls struct {
	mu    sync.Mutex
	calls []string // "route reason decision-in-context"
}

func (h *hookCalls) hook(ctx context.Context, route string, d atrion.Decision) {
	_, inCtx := atrion.DecisionFrom(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, route+" "+d.Reason.String()+" "+map[bool]string{true: "in-context", false: "-"}[inCtx])
}

func (h *hookCalls) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls
	h.calls = nil
	return c
}

// Every interceptor tells its decision hook of each call, admitted or
// rejected, with the call's context; with WithDecisionInContext the
// handler (or the client's next interceptor) finds the decision there.
func TestDecisionHooks(t *testing.T) {
	var server, client hookCalls
	innerSaw := 0
	r := newRig(t, setup{
		engine:      []atrion.Option{quickTrip},
		server:      []atrgrpc.Option{atrgrpc.WithDecisionHook(server.hook), atrgrpc.WithDecisionInContext()},
		guardClient: true,
		client:      []atrgrpc.Option{atrgrpc.WithDecisionHook(client.hook), atrgrpc.WithDecisionInContext()},
		innerUnary: func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if _, ok := atrion.DecisionFrom(ctx); ok {
				innerSaw++
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		},
	})
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
		t.Fatal(err)
	}
	st, err := r.client.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	if err := drain(st.Recv); err != nil {
		t.Fatal(err)
	}
	want := []string{unaryMethod + " admitted in-context", duplexMethod + " admitted in-context"}
	waitFor(t, "the server's hook", func() bool { return len(server.calls) == 2 })
	for side, h := range map[string]*hookCalls{"server": &server, "client": &client} {
		if got := h.take(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s hook heard %q, want %q", side, got, want)
		}
	}
	if n := r.svc.decided.Load(); n != 2 || innerSaw != 1 {
		t.Errorf("handlers saw %d decisions in their context (want 2), the client's next interceptor %d (want 1)", n, innerSaw)
	}

	// rejections: the server's route opens; the client's hook hears the
	// call it admitted and sent, the server's hook the rejection
	atriontest.Trip(t, r.a, r.clk, unaryMethod)
	r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
	if got := server.take(); len(got) != 1 || got[0] != unaryMethod+" circuit_open in-context" {
		t.Errorf("server hook heard %q, want one circuit_open rejection", got)
	}
	if got := client.take(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("client hook heard %q, want the call it sent", got)
	}
}

// The client's hook hears the client's own rejections too.
func TestClientDecisionHookHearsItsRejections(t *testing.T) {
	var client hookCalls
	r := newRig(t, setup{noServerGuard: true, guardClient: true, clientEngine: []atrion.Option{quickTrip},
		client: []atrgrpc.Option{atrgrpc.WithDecisionHook(client.hook)}})
	tripRoute(t, r.ca, r.clk, unaryMethod, func() error {
		_, err := r.client.UnaryCall(context.Background(), withStatus(codes.Internal, "down"))
		return err
	})
	client.take()
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); !errors.Is(err, atrgrpc.ErrRejected) {
		t.Fatalf("client route open: %v, want a local rejection", err)
	}
	if got := client.take(); len(got) != 1 || got[0] != unaryMethod+" circuit_open -" {
		t.Errorf("client hook heard %q, want its circuit_open rejection", got)
	}
}

// A hook adds no allocation to a unary call, on either side.
func TestDecisionHookAllocs(t *testing.T) {
	noop := func(context.Context, string, atrion.Decision) {}
	clk := atrion.NewManualClock(time.Unix(0, 0))
	a := newEngine(t, clk)
	count := func(opts ...atrgrpc.Option) (server, client float64) {
		si := atrgrpc.UnaryServerInterceptor(a, opts...)
		ci := atrgrpc.UnaryClientInterceptor(a, opts...)
		info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
		h := func(context.Context, any) (any, error) { return nil, nil }
		inv := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
		ctx := context.Background()
		server = testing.AllocsPerRun(200, func() { si(ctx, nil, info, h) })
		client = testing.AllocsPerRun(200, func() { ci(ctx, unaryMethod, nil, nil, nil, inv) })
		return server, client
	}
	s0, c0 := count()
	s1, c1 := count(atrgrpc.WithDecisionHook(noop))
	if s1 != s0 || c1 != c0 {
		t.Errorf("with a hook: server %v, client %v allocs; without: %v, %v", s1, c1, s0, c0)
	}
}

// With throttling on (the default), a client whose server pushes back on
// everything stops sending most calls: they fail locally with a
// ThrottledError (Unavailable, errors.Is ErrThrottled and ErrRejected),
// never a failure of the client's route; once the server accepts again,
// calls flow within the 2 s window.
func TestClientThrottlesOnPushback(t *testing.T) {
	r := newRig(t, setup{engine: []atrion.Option{quickTrip}, guardClient: true})
	const calls = 300
	throttled := 0
	for i := range calls {
		if s, _ := r.a.Snapshot(unaryMethod); s.Mode != atrion.ModeCircuitOpen {
			atriontest.Trip(t, r.a, r.clk, unaryMethod)
		}
		_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
		switch {
		case errors.Is(err, atrgrpc.ErrThrottled):
			var te *atrgrpc.ThrottledError
			if !errors.Is(err, atrgrpc.ErrRejected) || !errors.As(err, &te) || te.Share <= 0 || status.Code(err) != codes.Unavailable {
				t.Fatalf("throttled call: %v", err)
			}
			throttled++
		case err == nil: // a probe of the open circuit
		default:
			rejected(t, err, codes.Unavailable)
		}
		if i%10 == 9 {
			r.clk.Advance(100 * time.Millisecond)
		}
	}
	server := totals(t, r.a, unaryMethod).Decisions
	if throttled < calls*8/10 {
		t.Fatalf("%d of %d calls throttled, the server decided %d", throttled, calls, server)
	}
	if s, _ := r.ca.Snapshot(unaryMethod); s.Totals.Failures != 0 || s.Mode != atrion.ModeOperational {
		t.Fatalf("client route %v %+v", s.Mode, s.Totals)
	}
}

// A handler that ends with its own outbound call's refusal (a local
// rejection or throttling, or a server's pushback passed on) relays its
// dependency's state: ignored, not its method's failure. Any other
// Unavailable still fails.
func TestServerIgnoresRelayedRefusals(t *testing.T) {
	a := atriontest.NewEngine(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	si := atrgrpc.UnaryServerInterceptor(a)
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
	pushback, _ := status.New(codes.Unavailable, "busy").WithDetails(&errdetails.RetryInfo{})
	for _, err := range []error{
		&atrgrpc.ThrottledError{Method: "/dep/Call", Share: 0.5},
		fmt.Errorf("wrapped: %w", &atrgrpc.ThrottledError{}),
		pushback.Err(),
	} {
		si(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, err })
	}
	si(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, status.Error(codes.Unavailable, "down") })
	if tt := totals(t, a, unaryMethod); tt.Ignored != 3 || tt.Failures != 1 {
		t.Fatalf("totals %+v, want 3 relayed refusals ignored and 1 failure", tt)
	}
}
