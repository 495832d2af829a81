package atrgrpc_test

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// learnFloor gives route on a a no-load latency of 50 ms of engine time.
func learnFloor(r *rig, a *atrion.Atrion, route string) {
	for range 20 {
		tk, _ := a.Admit(route, atrion.PriorityNormal)
		r.clk.Advance(50 * time.Millisecond)
		tk.Done(atrion.Success)
	}
	r.clk.Advance(100 * time.Millisecond)
}

// A call whose deadline is shorter than the route's no-load latency is
// refused by the server interceptors before its handler runs, unary and
// stream: DeadlineExceeded with the deadline's ErrorInfo, no RetryInfo,
// a pushback of −1 (do not retry), counted as ReasonDeadline; the
// guarded client reads it as its own time, not the server's failure. A
// call with time enough is served.
func TestServerRefusesTheTooLate(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, guardClient: true})
		learnFloor(r, r.a, unaryMethod)
		learnFloor(r, r.a, outputMethod)
		calls := r.svc.calls.Load()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		var trailer metadata.MD
		_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, ""), grpc.Trailer(&trailer))
		checkDeadlineRefusal(t, err)
		if got := trailer.Get("grpc-retry-pushback-ms"); len(got) != 1 || got[0] != "-1" {
			t.Fatalf("pushback %q, want -1", got)
		}
		st, err := r.client.StreamingOutputCall(ctx, &grpc_testing.StreamingOutputCallRequest{})
		if err == nil {
			err = drain(st.Recv)
		}
		checkDeadlineRefusal(t, err)
		if r.svc.calls.Load() != calls {
			t.Fatal("a handler ran for a call refused for its deadline")
		}
		for _, m := range []string{unaryMethod, outputMethod} {
			s, _ := r.a.Snapshot(m)
			if s.Totals.Rejected.Deadline != 1 {
				t.Fatalf("%s: %d deadline refusals, want 1", m, s.Totals.Rejected.Deadline)
			}
		}
		// the client's route took the refusal as its caller's time: ignored
		if s, _ := r.ca.Snapshot(unaryMethod); s.Totals.Failures != 0 || s.Totals.Ignored != 1 {
			t.Fatalf("client route %+v: want the refusal ignored, no failure", s.Totals)
		}

		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		if _, err := r.client.UnaryCall(ctx2, withStatus(codes.OK, "")); err != nil {
			t.Fatalf("a call with time enough: %v", err)
		}
	})
}

func checkDeadlineRefusal(t *testing.T, err error) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded {
		t.Fatalf("refused call: %v, want DeadlineExceeded", err)
	}
	info := false
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			t.Fatal("a deadline refusal carries a RetryInfo")
		case *errdetails.ErrorInfo:
			info = d.Reason == "DEADLINE" && d.Domain == "atrion"
		}
	}
	if !info {
		t.Fatalf("refusal %v has no deadline ErrorInfo", st)
	}
}

// The client interceptors admit by the outgoing call's deadline too: a
// call the dependency's route cannot answer in time is refused locally,
// never sent.
func TestClientRefusesTheTooLate(t *testing.T) {
	r := newRig(t, setup{guardClient: true})
	learnFloor(r, r.ca, unaryMethod)
	served := r.svc.calls.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := r.client.UnaryCall(ctx, withStatus(codes.OK, ""))
	checkDeadlineRefusal(t, err)
	if r.svc.calls.Load() != served {
		t.Fatal("a call refused locally reached the server")
	}
	if s, _ := r.ca.Snapshot(unaryMethod); s.Totals.Rejected.Deadline != 1 {
		t.Fatalf("client route: %d deadline refusals, want 1", s.Totals.Rejected.Deadline)
	}
}
