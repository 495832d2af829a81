package atrgrpc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// raise fails calls, one per tick, until a's route is in the graded
// shedding band with bulk traffic shed in full and critical traffic not at
// all: R ≥ 70 (bulk is shed in full from 60 % of the way from R_base to
// the break point, R 64) and still OPERATIONAL. The clock then stays put,
// so the route's state does not move; the engine admits one request per
// tick that it would shed, as a probe, so one bulk call may pass.
func raise(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, route string, fail func() error) {
	t.Helper()
	for i := 0; i < 100; i++ {
		_ = fail()
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot(route)
		if s.Mode != atrion.ModeOperational {
			t.Fatalf("route %s went %s before reaching the band", route, s.Mode)
		}
		if s.Resistance >= 70 {
			return
		}
	}
	t.Fatal("route did not reach the shedding band in 100 ticks")
}

// outcomes makes n unary calls with ctx and counts those served and those
// rejected by Atrion.
func outcomes(t *testing.T, r *rig, ctx context.Context, n int) (served, rejects int) {
	t.Helper()
	for range n {
		_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, ""))
		switch {
		case err == nil:
			served++
		case status.Code(err) == codes.Unavailable && strings.HasPrefix(status.Convert(err).Message(), "atrion: "):
			rejects++
		default:
			t.Fatalf("call: %v", err)
		}
	}
	return served, rejects
}

// Priorities from metadata grade shedding: in the band, bulk calls are
// shed and critical calls pass, on a server (incoming metadata) and on a
// client (outgoing metadata).
func TestPriorityFromMetadata(t *testing.T) {
	prio := func(ctx context.Context, v string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "x-priority", v)
	}
	t.Run("server", func(t *testing.T) {
		r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithPriorityMetadata("")}})
		raise(t, r.a, r.clk, unaryMethod, r.failUnary)
		if served, _ := outcomes(t, r, prio(context.Background(), "bulk"), 20); served > 1 {
			t.Errorf("%d of 20 bulk calls served in the band, want at most the tick's probe", served)
		}
		if _, rejects := outcomes(t, r, prio(context.Background(), " Critical "), 20); rejects != 0 {
			t.Errorf("%d of 20 critical calls rejected in the band, want 0", rejects)
		}
	})
	t.Run("client", func(t *testing.T) {
		r := newRig(t, setup{noServerGuard: true, guardClient: true, client: []atrgrpc.Option{atrgrpc.WithPriorityMetadata("X-Tier")}})
		raise(t, r.ca, r.clk, unaryMethod, r.failUnary)
		tier := func(v string) context.Context {
			return metadata.AppendToOutgoingContext(context.Background(), "x-tier", v)
		}
		if served, _ := outcomes(t, r, tier("2"), 20); served > 1 {
			t.Errorf("%d of 20 bulk calls sent in the band, want at most the tick's probe", served)
		}
		if _, rejects := outcomes(t, r, tier("critical"), 20); rejects != 0 {
			t.Errorf("%d of 20 critical calls rejected in the band, want 0", rejects)
		}
	})
}

// Bad priority metadata never fails or blocks a call: on a healthy route
// every such call is served. (How each value reads is pinned in
// TestMetadataPriority.)
func TestBadPriorityMetadataIsServed(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithPriorityMetadata("x-priority")}})
	for _, vs := range [][]string{
		{""}, {"urgent"}, {"99"}, {"-3"}, {"1e9"}, {"NaN"}, {"  bulk  "},
		{strings.Repeat("critical", 1000)}, {"critical", "bulk"},
	} {
		md := metadata.MD{"x-priority": vs}
		ctx := metadata.NewOutgoingContext(context.Background(), md)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, ""))
		cancel()
		if err != nil {
			t.Errorf("x-priority %.20q: %v", vs, err)
		}
	}
	if n := totals(t, r.a, unaryMethod).Successes; n != 9 {
		t.Errorf("%d successes, want 9", n)
	}
}

// WithPriority decides from the call itself: here two methods share a
// route, and in its shedding band the bulk one is shed while the critical
// one (which drove R up) is served.
func TestPriorityFunc(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{
		atrgrpc.WithRouteID(func(string) string { return "test" }),
		atrgrpc.WithPriority(func(_ context.Context, m string) atrion.Priority {
			if m == emptyMethod {
				return atrion.PriorityBulk
			}
			return atrion.PriorityCritical
		}),
	}})
	raise(t, r.a, r.clk, "test", r.failUnary)
	served := 0
	for i := range 10 {
		if _, err := r.client.EmptyCall(context.Background(), &testgrpc.Empty{}); err == nil {
			served++ // the tick's probe
		} else {
			rejected(t, err, codes.Unavailable)
		}
		if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
			t.Fatalf("critical call %d: %v", i, err)
		}
	}
	if served > 1 {
		t.Errorf("%d of 10 bulk calls served in the band, want at most the tick's probe", served)
	}
}

// Skipped methods pass through unguarded and untracked, on both sides.
func TestSkip(t *testing.T) {
	opts := []atrgrpc.Option{
		atrgrpc.WithSkipMethods(emptyMethod),
		atrgrpc.WithSkipper(func(_ context.Context, m string) bool { return m == duplexMethod }),
	}
	r := newRig(t, setup{server: opts, guardClient: true, client: opts})
	ctx := context.Background()
	if _, err := r.client.EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
		t.Fatal(err)
	}
	st, err := r.client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := drain(st.Recv); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.UnaryCall(ctx, withStatus(codes.OK, "")); err != nil {
		t.Fatal(err)
	}
	for side, a := range map[string]*atrion.Atrion{"server": r.a, "client": r.ca} {
		for _, m := range []string{emptyMethod, duplexMethod} {
			if _, ok := a.Snapshot(m); ok {
				t.Errorf("%s tracks skipped method %s", side, m)
			}
		}
		if totals(t, a, unaryMethod).Successes != 1 {
			t.Errorf("%s: the guarded method was not recorded", side)
		}
	}
}

// A classifier decides what a code means; nil restores the default.
func TestClassifier(t *testing.T) {
	notFoundFails := atrgrpc.WithClassifier(func(err error) atrion.Class {
		if status.Code(err) == codes.NotFound {
			return atrion.Failure
		}
		return atrgrpc.Classify(err)
	})
	r := newRig(t, setup{server: []atrgrpc.Option{notFoundFails}})
	_, _ = r.client.UnaryCall(context.Background(), withStatus(codes.NotFound, "gone"))
	_, _ = r.client.UnaryCall(context.Background(), withStatus(codes.InvalidArgument, "bad"))
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 2, Failures: 1, Ignored: 1})

	r = newRig(t, setup{server: []atrgrpc.Option{notFoundFails, atrgrpc.WithClassifier(nil)}})
	_, _ = r.client.UnaryCall(context.Background(), withStatus(codes.NotFound, "gone"))
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 1, Ignored: 1})
}

// WithRouteID groups methods; an invalid ID falls into the overflow route
// and the call is still served.
func TestRouteID(t *testing.T) {
	service := func(m string) string { return m[1:strings.LastIndexByte(m, '/')] }
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithRouteID(service)}})
	_, _ = r.client.EmptyCall(context.Background(), &testgrpc.Empty{})
	_, _ = r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
	checkOutcomes(t, "server", r.a, "grpc.testing.TestService", atrion.Totals{Admitted: 2, Successes: 2})

	r = newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithRouteID(func(string) string { return "" })}})
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
		t.Fatalf("call with an empty route ID: %v", err)
	}
	if st := r.a.Stats(); st.InvalidIDs != 1 {
		t.Errorf("invalid route IDs counted %d, want 1", st.InvalidIDs)
	}
}

// A nil engine is refused when the interceptor is built, not on a call.
func TestNilEnginePanicsAtConstruction(t *testing.T) {
	for name, build := range map[string]func(){
		"UnaryServerInterceptor":  func() { atrgrpc.UnaryServerInterceptor(nil) },
		"StreamServerInterceptor": func() { atrgrpc.StreamServerInterceptor(nil) },
		"UnaryClientInterceptor":  func() { atrgrpc.UnaryClientInterceptor(nil) },
		"StreamClientInterceptor": func() { atrgrpc.StreamClientInterceptor(nil) },
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "nil *atrion.Atrion") {
					t.Errorf("%s(nil): recovered %v, want a panic naming the nil engine", name, p)
				}
			}()
			build()
		}()
	}
}

// Nil options and nil functions are the defaults.
func TestNilOptions(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{
		nil, atrgrpc.WithRouteID(nil), atrgrpc.WithPriority(nil), atrgrpc.WithSkipper(nil),
		atrgrpc.WithClassifier(nil), atrgrpc.WithRejectHandler(nil), atrgrpc.WithSkipMethods(),
	}})
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.Internal, "")); status.Code(err) != codes.Internal {
		t.Fatal(err)
	}
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 1, Failures: 1})
}
