package atrgrpc_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// expected is the outcome class of every status code, written out rather
// than derived from the code under test.
var expected = map[codes.Code]atrion.Class{
	codes.OK:                 atrion.Success,
	codes.Canceled:           atrion.Canceled, // quick: counted as ignored
	codes.Unknown:            atrion.Failure,
	codes.InvalidArgument:    atrion.Ignored,
	codes.DeadlineExceeded:   atrion.Failure,
	codes.NotFound:           atrion.Ignored,
	codes.AlreadyExists:      atrion.Ignored,
	codes.PermissionDenied:   atrion.Ignored,
	codes.ResourceExhausted:  atrion.Ignored,
	codes.FailedPrecondition: atrion.Ignored,
	codes.Aborted:            atrion.Ignored,
	codes.OutOfRange:         atrion.Ignored,
	codes.Unimplemented:      atrion.Failure,
	codes.Internal:           atrion.Failure,
	codes.Unavailable:        atrion.Failure,
	codes.DataLoss:           atrion.Failure,
	codes.Unauthenticated:    atrion.Ignored,
}

// count adds one outcome of class c to want.
func count(want *atrion.Totals, c atrion.Class) {
	want.Admitted++
	want.Decisions++
	switch c {
	case atrion.Success:
		want.Successes++
	case atrion.Failure:
		want.Failures++
	default:
		want.Ignored++
	}
}

// checkOutcomes compares a route's outcome counters, slow samples
// included, with want's.
func checkOutcomes(t *testing.T, side string, a *atrion.Atrion, route string, want atrion.Totals) {
	t.Helper()
	got := totals(t, a, route)
	if got.Admitted != want.Admitted || got.Successes != want.Successes || got.Failures != want.Failures ||
		got.Ignored != want.Ignored || got.Slow != want.Slow {
		t.Errorf("%s %s: admitted/succeeded/failed/ignored/slow = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d", side, route,
			got.Admitted, got.Successes, got.Failures, got.Ignored, got.Slow,
			want.Admitted, want.Successes, want.Failures, want.Ignored, want.Slow)
	}
}

// checkBothSides waits until the server and the client have each
// recorded as many outcomes on route as want holds, then compares their
// counters with want's.
func checkBothSides(t *testing.T, r *rig, route string, want atrion.Totals) {
	t.Helper()
	n := want.Successes + want.Failures + want.Ignored + want.Slow
	recorded := func(a *atrion.Atrion) bool {
		s := totals(t, a, route)
		return s.Successes+s.Failures+s.Ignored+s.Slow >= n
	}
	waitFor(t, "both sides to record "+route, func() bool { return recorded(r.a) && recorded(r.ca) })
	checkOutcomes(t, "server", r.a, route, want)
	checkOutcomes(t, "client", r.ca, route, want)
}

// Every status code a unary handler returns is classified, on the server
// and by the client interceptor that sees it come back.
func TestUnaryOutcomeByCode(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, guardClient: true})
		var want atrion.Totals
		for code := codes.OK; code <= codes.Unauthenticated; code++ {
			_, err := r.client.UnaryCall(context.Background(), withStatus(code, "told to"))
			if got := status.Code(err); got != code {
				t.Fatalf("call asking for %v ended with %v", code, err)
			}
			count(&want, expected[code])
		}
		checkOutcomes(t, "server", r.a, unaryMethod, want)
		checkOutcomes(t, "client", r.ca, unaryMethod, want)
	})
}

// Each stream kind is admitted once and classified by its final status,
// on both sides.
func TestStreamOutcomes(t *testing.T) {
	kinds := []struct {
		route string
		call  func(r *rig, code codes.Code) error // runs one stream to its end
	}{
		{outputMethod, func(r *rig, code codes.Code) error {
			st, err := r.client.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{
				ResponseParameters: []*testgrpc.ResponseParameters{{}, {}},
				ResponseStatus:     &testgrpc.EchoStatus{Code: int32(code)},
			})
			if err != nil {
				return err
			}
			return drain(st.Recv)
		}},
		{inputMethod, func(r *rig, code codes.Code) error {
			st, err := r.client.StreamingInputCall(context.Background())
			if err != nil {
				return err
			}
			body := ""
			if code != codes.OK {
				body = strconv.Itoa(int(code))
			}
			for range 3 {
				if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: []byte(body)}}); err != nil {
					break // the server ended the stream: CloseAndRecv tells how
				}
			}
			_, err = st.CloseAndRecv()
			return err
		}},
		{duplexMethod, func(r *rig, code codes.Code) error {
			st, err := r.client.FullDuplexCall(context.Background())
			if err != nil {
				return err
			}
			ok := &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{}}}
			if err := st.Send(ok); err != nil {
				return err
			}
			if _, err := st.Recv(); err != nil {
				return err
			}
			if code != codes.OK {
				if err := st.Send(&testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(code)}}); err != nil {
					return err
				}
			}
			if err := st.CloseSend(); err != nil {
				return err
			}
			return drain(st.Recv)
		}},
	}
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, guardClient: true})
		for _, k := range kinds {
			var want atrion.Totals
			for _, code := range []codes.Code{codes.OK, codes.Internal, codes.NotFound, codes.Unavailable, codes.InvalidArgument} {
				if err := k.call(r, code); status.Code(err) != code {
					t.Fatalf("%s asking for %v ended with %v", k.route, code, err)
				}
				count(&want, expected[code])
			}
			waitFor(t, "the server to record "+k.route, func() bool {
				return totals(t, r.a, k.route).Admitted == want.Admitted
			})
			checkOutcomes(t, "server", r.a, k.route, want)
			checkOutcomes(t, "client", r.ca, k.route, want)
		}
	})
}

// drain receives until the stream ends and returns its status (nil for OK).
func drain[T any](recv func() (T, error)) error {
	for range 100 {
		if _, err := recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
	return errors.New("stream did not end in 100 messages")
}

// A panicking handler is a failure; the interceptor lets the panic reach
// the recovery interceptor, and the server keeps serving.
func TestPanicIsFailure(t *testing.T) {
	r := newRig(t, setup{})
	ctx := context.Background()

	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doPanic))
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking unary call: %v, want Internal from the recovery interceptor", err)
	}
	if _, err := r.client.UnaryCall(ctx, withStatus(codes.OK, "")); err != nil {
		t.Fatalf("call after the panic: %v", err)
	}
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 2, Successes: 1, Failures: 1})

	st, err := r.client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Message: doPanic}}); err != nil {
		t.Fatal(err)
	}
	if err := drain(st.Recv); status.Code(err) != codes.Internal {
		t.Fatalf("panicking stream: %v, want Internal", err)
	}
	checkOutcomes(t, "server", r.a, duplexMethod, atrion.Totals{Admitted: 1, Failures: 1})
}

// A caller that goes away says nothing about the service: cancelled calls
// and streams are ignored on both sides.
func TestCancelledIsIgnored(t *testing.T) {
	r := newRig(t, setup{guardClient: true})

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-r.svc.started
		cancel()
	}()
	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doBlock))
	if status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled call: %v", err)
	}
	checkBothSides(t, r, unaryMethod, atrion.Totals{Admitted: 1, Ignored: 1})

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	st, err := r.client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{ResponseStatus: &testgrpc.EchoStatus{Message: doBlock}}); err != nil {
		t.Fatal(err)
	}
	<-r.svc.started
	cancel()
	if err := drain(st.Recv); status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled stream: %v", err)
	}
	checkBothSides(t, r, duplexMethod, atrion.Totals{Admitted: 1, Ignored: 1})
}

// A call that outlives its caller's deadline is the caller's outcome on
// both sides, never a failure of the route, whichever of the deadline or
// the client's reset reaches the server first: ignored when the caller
// left before the route's latency baseline, a slow sample when it waited
// past it (the handler advances the clock 2 s, past the 100 ms baseline).
func TestCallerDeadlineIsNotFailure(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		for _, slow := range []bool{false, true} {
			want := atrion.Totals{Admitted: 1, Decisions: 1, Ignored: 1}
			if slow {
				want = atrion.Totals{Admitted: 1, Decisions: 1, Slow: 1}
			}
			r := newRig(t, setup{tcp: tcp, guardClient: true})
			wait := func() {
				<-r.svc.started
				if slow {
					r.clk.Advance(2 * time.Second)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			go wait()
			_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doBlock))
			cancel()
			if status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("call past its deadline: %v", err)
			}
			checkBothSides(t, r, unaryMethod, want)

			// no message before it blocks: its latency is its time to the end
			ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
			st, err := r.client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
				ResponseStatus: &testgrpc.EchoStatus{Message: doBlock},
			})
			if err != nil {
				t.Fatal(err)
			}
			go wait()
			err = drain(st.Recv)
			cancel()
			if status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("stream past its deadline: %v", err)
			}
			checkBothSides(t, r, outputMethod, want)
		}
	})
}

// A DeadlineExceeded that the handler's own downstream call returns is
// the route's failure: on the server while its caller still waits, and
// on the client that receives it before its own deadline; and on the
// server also when its caller has cancelled, since a cancellation reaches
// a context derived from the call's as Canceled, never as a deadline.
func TestOwnDeadlineIsFailure(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, guardClient: true})
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doOwnTimeout))
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call whose handler timed out downstream: %v", err)
		}
		// without a deadline of the caller's
		_, err = r.client.UnaryCall(context.Background(), withStatus(codes.OK, doOwnTimeout))
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call whose handler timed out downstream: %v", err)
		}
		checkBothSides(t, r, unaryMethod, atrion.Totals{Admitted: 2, Failures: 2})

		st, err := r.client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
			ResponseParameters: []*testgrpc.ResponseParameters{{}},
			ResponseStatus:     &testgrpc.EchoStatus{Message: doOwnTimeout},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := drain(st.Recv); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("stream whose handler timed out downstream: %v", err)
		}
		checkBothSides(t, r, outputMethod, atrion.Totals{Admitted: 1, Failures: 1})

		// the caller cancels (an hour before its deadline); the handler's
		// own downstream call then times out: the server's failure, the
		// client's cancellation
		r = newRig(t, setup{tcp: tcp, guardClient: true})
		cctx, ccancel := context.WithTimeout(context.Background(), time.Hour)
		go func() {
			<-r.svc.started
			ccancel()
		}()
		_, err = r.client.UnaryCall(cctx, withStatus(codes.OK, doOwnTimeoutLate))
		ccancel()
		if status.Code(err) != codes.Canceled {
			t.Fatalf("cancelled call: %v", err)
		}
		waitFor(t, "the server to record the call", func() bool { return totals(t, r.a, unaryMethod).Failures == 1 })
		checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 1, Failures: 1})
		checkOutcomes(t, "client", r.ca, unaryMethod, atrion.Totals{Admitted: 1, Ignored: 1})
	})
}
