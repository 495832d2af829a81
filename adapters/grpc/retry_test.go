package atrgrpc_test

import (
	"context"
	"testing"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	"google.golang.org/grpc/metadata"
)

// A retry (grpc-previous-rpc-attempts ≥ 1) is admitted one band lower:
// with the route crowded past bulk's share but not low's, low first
// attempts are served and low retries shed; a hostile count is a first
// attempt.
func TestServerShedsRetriesFirst(t *testing.T) {
	r := newRig(t, setup{server: []atrgrpc.Option{atrgrpc.WithPriorityMetadata("")}})
	crowd(t, r, r.a, unaryMethod)
	low := func(attempts ...string) context.Context {
		md := metadata.Pairs("x-priority", "low")
		for _, a := range attempts {
			md.Append("grpc-previous-rpc-attempts", a)
		}
		return metadata.NewOutgoingContext(context.Background(), md)
	}
	if _, rejects := outcomes(t, r, low(), 10); rejects != 0 {
		t.Fatalf("%d of 10 low first attempts rejected, want 0", rejects)
	}
	if served, _ := outcomes(t, r, low("1"), 10); served != 0 {
		t.Fatalf("%d of 10 low retries served past bulk's share, want 0", served)
	}
	for _, v := range [][]string{{"0"}, {"-1"}, {"1e9"}, {"9999999999999"}, {"1", "2"}, {" 1"}} {
		if _, rejects := outcomes(t, r, low(v...), 3); rejects != 0 {
			t.Fatalf("attempt count %q: %d of 3 rejected, want a first attempt's 0", v, rejects)
		}
	}
}
