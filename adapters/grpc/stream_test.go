package atrgrpc_test

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// sloBaseline is the latency baseline of the stream latency tests: a
// tick's latency pressure is tanh((L − b)/b), so a fast tick (L ≈ 0) reads
// about −0.76 and a slow one (L ≥ 1 s) about +1.
const sloBaseline = 100 * time.Millisecond

// A stream's latency is its time to first response, so a stream that
// stays open for ten minutes after a fast answer reads as fast, on both
// sides, and one whose first answer is slow reads as slow, for every
// stream kind. The service and the test move the manual clock, so every
// latency is exact.
func TestStreamLatencyIsFirstResponse(t *testing.T) {
	const open = 10 * time.Minute
	kinds := []struct {
		name, route string
		run         func(t *testing.T, r *rig, slow bool)
	}{
		{"server streaming", outputMethod, func(t *testing.T, r *rig, slow bool) {
			first := int32(0)
			if slow {
				first = int32(2 * time.Second / time.Microsecond)
			}
			// the first message after `first`, the second ten minutes after
			// the client has read it
			st, err := r.client.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{
				ResponseParameters: []*testgrpc.ResponseParameters{{IntervalUs: first}, {IntervalUs: -1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err != nil {
				t.Fatal(err)
			}
			r.clk.Advance(open)
			r.svc.gate <- struct{}{}
			if err := drain(st.Recv); err != nil {
				t.Fatal(err)
			}
		}},
		{"client streaming", inputMethod, func(t *testing.T, r *rig, slow bool) {
			st, err := r.client.StreamingInputCall(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			body := ""
			if slow {
				body = doSlow // the server takes 2 s to answer
			}
			for range 3 { // the client takes ten minutes to send
				r.clk.Advance(open / 3)
				if err := st.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: []byte(body)}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.CloseAndRecv(); err != nil {
				t.Fatal(err)
			}
		}},
		{"bidi", duplexMethod, func(t *testing.T, r *rig, slow bool) {
			st, err := r.client.FullDuplexCall(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			first := int32(0)
			if slow {
				first = int32(2 * time.Second / time.Microsecond)
			}
			req := &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{IntervalUs: first}}}
			if err := st.Send(req); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err != nil {
				t.Fatal(err)
			}
			r.clk.Advance(open) // the stream stays open, idle
			if err := st.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if err := drain(st.Recv); err != nil {
				t.Fatal(err)
			}
		}},
	}
	slo := atrion.WithSLO(atrion.SLO{BaselineLatency: sloBaseline, TargetErrorRate: 0.01})
	for _, k := range kinds {
		for _, slow := range []bool{false, true} {
			name := k.name + "/fast first response, open ten minutes"
			if slow {
				name = k.name + "/slow first response"
			}
			t.Run(name, func(t *testing.T) {
				r := newRig(t, setup{engine: []atrion.Option{slo}, guardClient: true, clientEngine: []atrion.Option{slo}})
				k.run(t, r, slow)
				waitFor(t, "the server to record the stream", func() bool { return totals(t, r.a, k.route).Successes == 1 })
				r.clk.Advance(100 * time.Millisecond) // close the tick holding the stream's outcome
				for side, a := range map[string]*atrion.Atrion{"server": r.a, "client": r.ca} {
					s, _ := a.Snapshot(k.route)
					if s.Totals.Successes != 1 {
						t.Fatalf("%s: %d successes, want 1", side, s.Totals.Successes)
					}
					p := s.Pressure[0]
					if slow && p < 0.9 || !slow && p > -0.7 {
						t.Errorf("%s: latency pressure %.3f, want %s", side, p, map[bool]string{false: "≈ −0.76 (L ≈ 0)", true: "≈ +1 (L = 2 s)"}[slow])
					}
				}
			})
		}
	}
}
