package atrgrpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// A dependency that fails costs each caller a call until the client
// interceptors trip; then calls and streams fail at once, locally, with
// Unavailable, and never reach the dependency, however long their caller
// would wait. (A caller's own deadline passing is the caller's outcome,
// not the dependency's failure: TestCallerDeadlineIsNotFailure.)
func TestClientFailsFastOnceTripped(t *testing.T) {
	r := newRig(t, setup{noServerGuard: true, guardClient: true, clientEngine: []atrion.Option{quickTrip}})
	fail := func() error {
		_, err := r.client.UnaryCall(context.Background(), withStatus(codes.Internal, ""))
		if c := status.Code(err); c != codes.Internal && c != codes.Unavailable {
			t.Fatalf("call to the failing dependency: %v", err)
		}
		return err
	}
	tripRoute(t, r.ca, r.clk, unaryMethod, fail)
	reached := r.svc.calls.Load()

	// A caller with a generous deadline is answered at once: the error is
	// the local rejection (its RetryInfo says so), not the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doBlock))
	if d := rejected(t, err, codes.Unavailable); d <= 0 {
		t.Errorf("local rejection carries retry delay %v", d)
	}
	var rej *atrgrpc.RejectedError
	if !errors.Is(err, atrgrpc.ErrRejected) || !errors.As(err, &rej) {
		t.Fatalf("local rejection %v (%T) is not an atrgrpc.RejectedError", err, err)
	}
	if rej.Side != "client" || rej.Method != unaryMethod || rej.Decision.Reason != atrion.ReasonCircuitOpen {
		t.Errorf("rejection %+v: want the client's, on %s, for an open circuit", rej, unaryMethod)
	}
	if n := r.svc.calls.Load(); n != reached {
		t.Errorf("a call reached the dependency after the trip (%d calls, want %d)", n, reached)
	}
	if s := totals(t, r.ca, unaryMethod); s.Failures == 0 || s.Rejected.CircuitOpen == 0 {
		t.Errorf("client totals %+v: want the failures and a circuit-open rejection", s)
	}

	// streams to the dependency: trip the bidi method the same way
	tripRoute(t, r.ca, r.clk, duplexMethod, func() error {
		st, err := r.client.FullDuplexCall(context.Background())
		if err != nil {
			return err
		}
		if err := st.Send(&testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.Internal)}}); err != nil {
			return err
		}
		return drain(st.Recv)
	})
	reached = r.svc.calls.Load()
	_, err = r.client.FullDuplexCall(ctx)
	rejected(t, err, codes.Unavailable)
	if n := r.svc.calls.Load(); n != reached {
		t.Errorf("a stream reached the dependency after the trip (%d calls, want %d)", n, reached)
	}
}

// The client's route heals like the server's, and calls flow again.
func TestClientHeals(t *testing.T) {
	r := newRig(t, setup{noServerGuard: true, guardClient: true})
	tripRoute(t, r.ca, r.clk, unaryMethod, r.failUnary)
	atriontest.Until(t, r.ca, r.clk, unaryMethod, atrion.ModeOperational, 1000, func() {
		_, _ = r.client.UnaryCall(context.Background(), withStatus(codes.OK, ""))
	})
	if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
		t.Fatalf("call after healing: %v", err)
	}
}

// A streamer or invoker that panics (an interceptor further in, a bug)
// costs its call a failure and leaves nothing in flight; the panic goes
// on to the caller.
func TestClientPanicIsFailure(t *testing.T) {
	a := newEngine(t, atrion.NewManualClock(time.Unix(0, 0)))
	panics := func(f func()) (p any) {
		defer func() { p = recover() }()
		f()
		return nil
	}
	stream := atrgrpc.StreamClientInterceptor(a)
	if p := panics(func() {
		_, _ = stream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, nil, duplexMethod,
			func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
				panic("streamer panics")
			})
	}); p != "streamer panics" {
		t.Fatalf("the streamer's panic did not go on: %v", p)
	}
	unary := atrgrpc.UnaryClientInterceptor(a)
	if p := panics(func() {
		_ = unary(context.Background(), unaryMethod, nil, nil, nil,
			func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
				panic("invoker panics")
			})
	}); p != "invoker panics" {
		t.Fatalf("the invoker's panic did not go on: %v", p)
	}
	for _, route := range []string{duplexMethod, unaryMethod} {
		s := adaptertest.Snapshot(t, a, route)
		if s.Totals.Admitted != 1 || s.Totals.Failures != 1 || s.InFlight != 0 {
			t.Errorf("%s after a panic: totals %+v, %v in flight; want one failure, none in flight", route, s.Totals, s.InFlight)
		}
	}
}
