package atrgrpc_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// clientKeyMD is the metadata the client-key tests name their clients in.
const clientKeyMD = "x-client"

// keyFromMetadata is the tests' WithClientKey: the one x-client value.
func keyFromMetadata(ctx context.Context, _ string) string {
	if vs := metadata.ValueFromIncomingContext(ctx, clientKeyMD); len(vs) == 1 {
		return vs[0]
	}
	return ""
}

// as is a context for a call made as the client key.
func as(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), clientKeyMD, key)
}

// WithClientKey: a banned key is refused before its handler runs, on
// unary calls and streams, with ResourceExhausted, a RetryInfo detail and
// a pushback trailer of the ban's time left; other keys are served.
func TestClientKeyBanned(t *testing.T) {
	transports(t, func(t *testing.T, tcp bool) {
		r := newRig(t, setup{tcp: tcp, server: []atrgrpc.Option{atrgrpc.WithClientKey(keyFromMetadata)}})
		if err := r.a.Ban("banned-key", time.Minute); err != nil {
			t.Fatal(err)
		}
		calls := r.svc.calls.Load()
		var trailer metadata.MD
		_, err := r.client.UnaryCall(as("banned-key"), withStatus(codes.OK, ""), grpc.Trailer(&trailer))
		checkPushback(t, err, codes.ResourceExhausted, trailer, time.Minute) // the manual clock stands still
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "banned") {
			t.Errorf("rejection %q does not say the key is banned", msg)
		}
		st, err := r.client.StreamingOutputCall(as("banned-key"), &testgrpc.StreamingOutputCallRequest{})
		if err != nil {
			t.Fatal(err)
		}
		err = drain(st.Recv)
		checkPushback(t, err, codes.ResourceExhausted, st.Trailer(), time.Minute)
		if n := r.svc.calls.Load(); n != calls {
			t.Errorf("handlers ran %d times for a banned key", n-calls)
		}
		if _, err := r.client.UnaryCall(as("good-key"), withStatus(codes.OK, "")); err != nil {
			t.Errorf("another key: %v", err)
		}
		if _, err := r.client.UnaryCall(context.Background(), withStatus(codes.OK, "")); err != nil {
			t.Errorf("a call without a key: %v", err)
		}
		if bs := r.a.BanStats(); bs.Rejected != 2 {
			t.Errorf("BanStats %+v: want the two banned calls rejected", bs)
		}
	})
}

// A key whose calls are all its own fault (InvalidArgument, which the
// route ignores) while other keys' calls on the route succeed is banned on
// that evidence, on a unary method and on a stream, and the route's
// circuit stays closed. The keys' evidence is per route.
func TestClientKeyEvidence(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithClientKey(keyFromMetadata)}})
	stream := func(key string, code codes.Code) error {
		st, err := r.client.StreamingOutputCall(as(key), &testgrpc.StreamingOutputCallRequest{
			ResponseStatus: &testgrpc.EchoStatus{Code: int32(code)},
		})
		if err != nil {
			return err
		}
		return drain(st.Recv)
	}
	unary := func(key string, code codes.Code) error {
		_, err := r.client.UnaryCall(as(key), withStatus(code, "bad request"))
		return err
	}
	for _, c := range []struct {
		name, route string
		call        func(key string, code codes.Code) error
	}{{"unary", unaryMethod, unary}, {"stream", outputMethod, stream}} {
		stuffer := "stuffer-" + c.name
		banned := false
		for tick := 0; tick < 20 && !banned; tick++ {
			for range 5 {
				for _, k := range []string{"client-1", "client-2"} {
					if err := c.call(k, codes.OK); err != nil {
						t.Fatalf("%s: %s: %v", c.name, k, err)
					}
				}
				err := c.call(stuffer, codes.InvalidArgument)
				if banned = status.Code(err) == codes.ResourceExhausted; banned {
					break
				}
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("%s: stuffer: %v", c.name, err)
				}
			}
			r.clk.Advance(r.a.Tick())
		}
		if !banned {
			t.Fatalf("%s: a key sending only invalid calls was not banned within 20 ticks: %+v", c.name, r.a.BanStats())
		}
		if s, _ := r.a.Snapshot(c.route); s.Mode == atrion.ModeCircuitOpen || s.Totals.Failures != 0 {
			t.Errorf("%s: the stuffer's calls reached the route: mode %v, %d failures", c.name, s.Mode, s.Totals.Failures)
		}
	}
	if _, err := r.client.UnaryCall(as("client-1"), withStatus(codes.OK, "")); err != nil {
		t.Errorf("a good client after the bans: %v", err)
	}
}

// Hostile keys (too long, control bytes, not ASCII) are neither judged
// nor banned, and never block a call: it is admitted as without a key.
// grpc-go sends no metadata value with such bytes, but a key function can
// make one from what it reads (a certificate's subject, a token's claim),
// so the calls name an index into the hostile keys.
func TestClientKeyHostile(t *testing.T) {
	hostile := []string{strings.Repeat("k", atrion.MaxClientKeyLen+1), "tab\tkey", "nul\x00key", "é-key", "\x7f"}
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithClientKey(func(ctx context.Context, m string) string {
		i, err := strconv.Atoi(keyFromMetadata(ctx, m))
		if err != nil || i < 0 || i >= len(hostile) {
			t.Errorf("call without an index: %v", err)
			return ""
		}
		return hostile[i]
	})}})
	const rounds = 25 // past MinCalls for every key, were they judged
	for range rounds {
		for i := range hostile {
			if _, err := r.client.UnaryCall(as(strconv.Itoa(i)), withStatus(codes.InvalidArgument, "bad")); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("key %q: %v, want the handler's InvalidArgument", hostile[i], err)
			}
		}
		r.clk.Advance(r.a.Tick())
	}
	if bs := r.a.Bans(); len(bs) != 0 {
		t.Errorf("bans %+v from hostile keys", bs)
	}
	if bs := r.a.BanStats(); bs.InvalidKeys != rounds*uint64(len(hostile)) {
		t.Errorf("BanStats %+v: want all %d calls' keys counted as invalid", bs, rounds*len(hostile))
	}
	if n := r.svc.calls.Load(); n != rounds*int64(len(hostile)) {
		t.Errorf("the handler ran %d times, want %d", n, rounds*len(hostile))
	}
}

// A panic in WithClientKey's function is the server's recovery
// interceptor's business, as in any handler code: the call is not
// admitted, so its route counts no decision and holds nothing in flight.
func TestClientKeyPanicsLeaveNoTicket(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithClientKey(func(ctx context.Context, m string) string {
		if k := keyFromMetadata(ctx, m); k != "panic" {
			return k
		}
		panic("key lookup")
	})}})
	if _, err := r.client.UnaryCall(as("good-key"), withStatus(codes.OK, "")); err != nil {
		t.Fatal(err)
	}
	before, ok := r.a.Snapshot(unaryMethod)
	if !ok {
		t.Fatal("route not tracked after a served call")
	}
	_, err := r.client.UnaryCall(as("panic"), withStatus(codes.OK, ""))
	if status.Code(err) != codes.Internal || errors.Is(err, atrgrpc.ErrRejected) {
		t.Fatalf("a panicking key function: %v, want the recovery interceptor's Internal", err)
	}
	after, _ := r.a.Snapshot(unaryMethod)
	if after.InFlight != 0 || after.Totals.Decisions != before.Totals.Decisions {
		t.Errorf("after the panic: %v in flight, %d decisions (were %d)", after.InFlight, after.Totals.Decisions, before.Totals.Decisions)
	}
}
