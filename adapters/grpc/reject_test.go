package atrgrpc_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// failUnary is a unary call that fails with Internal.
func (r *rig) failUnary() error {
	_, err := r.client.UnaryCall(context.Background(), withStatus(codes.Internal, "down"))
	return err
}

// hint returns the open route's un-jittered retry hint, as a rejected
// Admit reports it; with the clock stopped it does not change.
func hint(t *testing.T, a *atrion.Atrion, route string) time.Duration {
	t.Helper()
	_, d := a.Admit(route, atrion.PriorityNormal)
	if d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("route %s: want a rejection with a retry hint, got %+v", route, d)
	}
	return d.RetryAfter
}

// checkPushback checks a rejection's trailer and RetryInfo against the
// route's hint: both carry the same jittered value in [hint, 1.5 × hint].
func checkPushback(t *testing.T, err error, code codes.Code, trailer metadata.MD, h time.Duration) {
	t.Helper()
	delay := rejected(t, err, code)
	vs := trailer.Get(atrgrpc.PushbackTrailer)
	if len(vs) != 1 {
		t.Fatalf("trailer %s = %q, want one value", atrgrpc.PushbackTrailer, vs)
	}
	ms, perr := strconv.ParseInt(vs[0], 10, 64)
	if perr != nil {
		t.Fatalf("trailer %s = %q: %v", atrgrpc.PushbackTrailer, vs[0], perr)
	}
	if ms != delay.Milliseconds() {
		t.Errorf("pushback %d ms, RetryInfo %v: want the same hint", ms, delay)
	}
	if lo, hi := h.Milliseconds(), h.Milliseconds()*3/2+1; ms < lo || ms > hi {
		t.Errorf("pushback %d ms outside the jittered hint's range [%d, %d]", ms, lo, hi)
	}
}

// A tripped method is rejected before its handler runs, with Unavailable,
// a RetryInfo detail and the pushback trailer; a stream too.
func TestRejectionCarriesPushback(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, engine: []atrion.Option{quickTrip}})
		tripRoute(t, r.a, r.clk, unaryMethod, r.failUnary)
		h := hint(t, r.a, unaryMethod)
		calls := r.svc.calls.Load()

		var trailer metadata.MD
		_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""), grpc.Trailer(&trailer))
		checkPushback(t, err, codes.Unavailable, trailer, h)
		if errors.Is(err, atrgrpc.ErrRejected) {
			t.Error("a remote server's rejection reads as a local one")
		}
		if n := r.svc.calls.Load(); n != calls {
			t.Errorf("the handler ran for a rejected call (%d calls, want %d)", n, calls)
		}
		shed := totals(t, r.a, unaryMethod)
		if shed.Rejected.CircuitOpen < 2 || shed.Failures == 0 {
			t.Errorf("totals %+v: want circuit-open rejections besides the failures that tripped it", shed)
		}

		// streams: trip the server-streaming method, then open one
		tripRoute(t, r.a, r.clk, outputMethod, func() error {
			st, err := r.client.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{
				ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.Internal)},
			})
			if err != nil {
				return err
			}
			return drain(st.Recv)
		})
		h = hint(t, r.a, outputMethod)
		st, err := r.client.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{})
		if err != nil {
			t.Fatal(err)
		}
		err = drain(st.Recv)
		checkPushback(t, err, codes.Unavailable, st.Trailer(), h)
	})
}

// WithRejectionCode sets the rejection's code; a code that would read as
// success, or no code at all, falls back to Unavailable.
func TestRejectionCode(t *testing.T) {
	for _, tc := range []struct {
		opt  codes.Code
		want codes.Code
	}{
		{codes.ResourceExhausted, codes.ResourceExhausted},
		{codes.OK, codes.Unavailable},
		{codes.Code(99), codes.Unavailable},
	} {
		t.Run(tc.opt.String(), func(t *testing.T) {
			r := newRig(t, setup{engine: []atrion.Option{quickTrip}, server: []atrgrpc.Option{atrgrpc.WithRejectionCode(tc.opt)}})
			tripRoute(t, r.a, r.clk, unaryMethod, r.failUnary)
			h := hint(t, r.a, unaryMethod)
			var trailer metadata.MD
			_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""), grpc.Trailer(&trailer))
			checkPushback(t, err, tc.want, trailer, h)
		})
	}
}

// A reject handler sees the default rejection and replaces it; the
// pushback trailer stays. A handler returning nil keeps the default.
func TestRejectHandler(t *testing.T) {
	var seen []*atrgrpc.RejectedError
	var mu sync.Mutex
	handler := atrgrpc.WithRejectHandler(func(ctx context.Context, rej *atrgrpc.RejectedError) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, rej)
		if len(seen) > 1 {
			return nil
		}
		return status.Error(codes.ResourceExhausted, "busy: come back later")
	})
	r := newRig(t, setup{engine: []atrion.Option{quickTrip}, server: []atrgrpc.Option{handler}})
	tripRoute(t, r.a, r.clk, unaryMethod, r.failUnary)
	mu.Lock()
	seen = nil // rejections while tripping
	mu.Unlock()

	var trailer metadata.MD
	_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""), grpc.Trailer(&trailer))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "busy: come back later" {
		t.Errorf("handled rejection: %v", err)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Method != unaryMethod || seen[0].Side != "server" {
		t.Fatalf("the handler saw %+v", seen)
	}
	want := strconv.FormatInt(max(seen[0].RetryAfter.Milliseconds(), 1), 10)
	mu.Unlock()
	if got := trailer.Get(atrgrpc.PushbackTrailer); len(got) != 1 || got[0] != want {
		t.Errorf("pushback trailer %q, want %q", got, want)
	}

	_, err = r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
	rejected(t, err, codes.Unavailable)
}

// A grpc-go client whose retry policy retries Unavailable waits for the
// server's pushback between attempts rather than its own 1 ms backoff:
// over loopback TCP, every gap between attempts is at least the hint.
func TestClientRetryHonoursPushback(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	recordAttempts := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == unaryMethod {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
		}
		return h(ctx, req)
	}
	const policy = `{"methodConfig": [{
		"name": [{"service": "grpc.testing.TestService"}],
		"retryPolicy": {
			"maxAttempts": 3,
			"initialBackoff": "0.001s",
			"maxBackoff": "0.001s",
			"backoffMultiplier": 1,
			"retryableStatusCodes": ["UNAVAILABLE"]
		}
	}]}`
	r := newRig(t, setup{
		tcp:        true,
		engine:     []atrion.Option{quickTrip},
		outerUnary: recordAttempts,
		dial:       []grpc.DialOption{grpc.WithDefaultServiceConfig(policy)},
	})
	tripRoute(t, r.a, r.clk, unaryMethod, r.failUnary)
	h := hint(t, r.a, unaryMethod)
	mu.Lock()
	arrivals = nil
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, ""))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("call on an open route: %v, want Unavailable after the retries", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 3 {
		t.Fatalf("the server saw %d attempts, want 3 (the retry policy's maxAttempts)", len(arrivals))
	}
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < h {
			t.Errorf("attempt %d came %v after the one before, sooner than the %v pushback", i+1, gap, h)
		}
	}
}

// A tripped method heals with time alone: rejected while open, ramped
// back in RECOVERING, OPERATIONAL again; the handler serves again.
func TestTrippedMethodHeals(t *testing.T) {
	r := newRig(t, setup{})
	tripRoute(t, r.a, r.clk, unaryMethod, r.failUnary)

	calls := r.svc.calls.Load()
	_, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
	rejected(t, err, codes.Unavailable)
	if r.svc.calls.Load() != calls {
		t.Fatal("an open circuit let a call reach the handler")
	}

	served := 0
	s := atriontest.Until(t, r.a, r.clk, unaryMethod, atrion.ModeOperational, 1000, func() { // at most 100 s of manual time
		if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err == nil {
			served++
		} else {
			rejected(t, err, codes.Unavailable)
		}
	})
	tr := s.TransitionsByMode
	if tr[atrion.ModeOperational][atrion.ModeCircuitOpen] != 1 || tr[atrion.ModeCircuitOpen][atrion.ModeRecovering] != 1 || tr[atrion.ModeRecovering][atrion.ModeOperational] != 1 {
		t.Errorf("transitions %v: want OPERATIONAL → CIRCUIT_OPEN → RECOVERING → OPERATIONAL once each", tr)
	}
	if served == 0 || s.Totals.Successes != uint64(served) {
		t.Errorf("served %d calls while healing, route counted %d successes", served, s.Totals.Successes)
	}
}
