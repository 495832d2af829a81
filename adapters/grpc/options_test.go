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

// crowd holds calls in flight on route of engine a until the test ends:
// three in a first tick set the route's in-flight limit (its cap, 16, for
// a quiet route), then ten in flight sit past bulk traffic's share of it
// (60 %) and below every other priority's.
func crowd(t *testing.T, r *rig, a *atrion.Atrion, route string) {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "x-priority", "critical", "x-tier", "critical"))
	t.Cleanup(cancel)
	hold := func(n int) {
		for range n {
			go func() { _, _ = r.client.UnaryCall(ctx, withStatus(codes.OK, doBlock)) }()
			select {
			case <-r.svc.started:
			case <-time.After(5 * time.Second):
				t.Fatal("a blocking call never started")
			}
		}
	}
	hold(3)
	r.clk.Advance(100 * time.Millisecond)
	hold(7)
	if s, _ := a.Snapshot(route); s.InFlight != 10 {
		t.Fatalf("%v calls in flight on %s, want 10", s.InFlight, route)
	}
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
		crowd(t, r, r.a, unaryMethod)
		if served, _ := outcomes(t, r, prio(context.Background(), "bulk"), 20); served != 0 {
			t.Errorf("%d of 20 bulk calls served past bulk's share of the limit, want 0", served)
		}
		if _, rejects := outcomes(t, r, prio(context.Background(), " Critical "), 20); rejects != 0 {
			t.Errorf("%d of 20 critical calls rejected, want 0", rejects)
		}
	})
	t.Run("client", func(t *testing.T) {
		r := newRig(t, setup{noServerGuard: true, guardClient: true, client: []atrgrpc.Option{atrgrpc.WithPriorityMetadata("X-Tier")}})
		crowd(t, r, r.ca, unaryMethod)
		tier := func(v string) context.Context {
			return metadata.AppendToOutgoingContext(context.Background(), "x-tier", v)
		}
		if served, _ := outcomes(t, r, tier("2"), 20); served != 0 {
			t.Errorf("%d of 20 bulk calls sent past bulk's share of the limit, want 0", served)
		}
		if _, rejects := outcomes(t, r, tier("critical"), 20); rejects != 0 {
			t.Errorf("%d of 20 critical calls rejected, want 0", rejects)
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
	crowd(t, r, r.a, "test")
	served := 0
	for i := range 10 {
		if _, err := r.client.EmptyCall(context.Background(), &testgrpc.Empty{}); err == nil {
			served++
		} else {
			rejected(t, err, codes.Unavailable)
		}
		if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
			t.Fatalf("critical call %d: %v", i, err)
		}
	}
	if served != 0 {
		t.Errorf("%d of 10 bulk calls served past bulk's share of the limit, want 0", served)
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
