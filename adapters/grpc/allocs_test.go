package atrgrpc_test

import (
	"context"
	"testing"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
)

// The unary interceptors add no allocations to an admitted call (SPEC §9),
// measured around a handler (or invoker) that itself allocates nothing, on
// an engine with default settings and the system clock.
func TestUnaryInterceptorsZeroAllocs(t *testing.T) {
	a := atriontest.NewEngine(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	ctx := context.Background()
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	server := atrgrpc.UnaryServerInterceptor(a)
	keyed := atrgrpc.UnaryServerInterceptor(a, atrgrpc.WithClientKey(func(context.Context, string) string { return "tenant-42" }))
	client := atrgrpc.UnaryClientInterceptor(a)

	for name, call := range map[string]func(){
		"server": func() {
			if _, err := server(ctx, nil, info, handler); err != nil {
				t.Fatal(err)
			}
		},
		"server with a client key": func() {
			if _, err := keyed(ctx, nil, info, handler); err != nil {
				t.Fatal(err)
			}
		},
		"client": func() {
			if err := client(ctx, unaryMethod, nil, nil, nil, invoker); err != nil {
				t.Fatal(err)
			}
		},
	} {
		call() // the route's creation allocates once
		if n := testing.AllocsPerRun(1000, call); n != 0 {
			t.Errorf("%s interceptor: %.1f allocations per call, want 0", name, n)
		}
	}
}
