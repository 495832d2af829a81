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

// checkOutcomes compares a route's outcome counters with want's.
func checkOutcomes(t *testing.T, side string, a *atrion.Atrion, route string, want atrion.Totals) {
	t.Helper()
	got := totals(t, a, route)
	if got.Admitted != want.Admitted || got.Successes != want.Successes || got.Failures != want.Failures || got.Ignored != want.Ignored {
		t.Errorf("%s %s: admitted/succeeded/failed/ignored = %d/%d/%d/%d, want %d/%d/%d/%d", side, route,
			got.Admitted, got.Successes, got.Failures, got.Ignored,
			want.Admitted, want.Successes, want.Failures, want.Ignored)
	}
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
	waitFor(t, "the server to record the cancelled call", func() bool { return totals(t, r.a, unaryMethod).Ignored == 1 })
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 1, Ignored: 1})
	checkOutcomes(t, "client", r.ca, unaryMethod, atrion.Totals{Admitted: 1, Ignored: 1})

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
	waitFor(t, "both sides to record the cancelled stream", func() bool {
		return totals(t, r.a, duplexMethod).Ignored == 1 && totals(t, r.ca, duplexMethod).Ignored == 1
	})
	checkOutcomes(t, "server", r.a, duplexMethod, atrion.Totals{Admitted: 1, Ignored: 1})
	checkOutcomes(t, "client", r.ca, duplexMethod, atrion.Totals{Admitted: 1, Ignored: 1})
}

// A call that outlives its deadline is a failure on both sides, whichever
// of the deadline or the client's reset reaches the server first.
func TestDeadlineIsFailure(t *testing.T) {
	r := newRig(t, setup{guardClient: true})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, doBlock))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call past its deadline: %v", err)
	}
	waitFor(t, "the server to record the late call", func() bool {
		return totals(t, r.a, unaryMethod).Admitted == 1 && totals(t, r.a, unaryMethod).Failures+totals(t, r.a, unaryMethod).Ignored == 1
	})
	checkOutcomes(t, "server", r.a, unaryMethod, atrion.Totals{Admitted: 1, Failures: 1})
	checkOutcomes(t, "client", r.ca, unaryMethod, atrion.Totals{Admitted: 1, Failures: 1})

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, err := r.client.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{
		ResponseParameters: []*testgrpc.ResponseParameters{{}},
		ResponseStatus:     &testgrpc.EchoStatus{Message: doBlock},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := drain(st.Recv); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("stream past its deadline: %v", err)
	}
	waitFor(t, "both sides to record the late stream", func() bool {
		s, c := totals(t, r.a, outputMethod), totals(t, r.ca, outputMethod)
		return s.Failures+s.Ignored == 1 && c.Failures+c.Ignored == 1
	})
	checkOutcomes(t, "server", r.a, outputMethod, atrion.Totals{Admitted: 1, Failures: 1})
	checkOutcomes(t, "client", r.ca, outputMethod, atrion.Totals{Admitted: 1, Failures: 1})
}
