package atrgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A server guards its methods with one engine; each full method name is
// a route, and Reserve, once the services are registered, gives each of
// them a slot of its own in the engine. The health service passes through
// unguarded (WithOperationalMethods): an overload is never a reason to
// fail a health check.
func Example() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)),
		grpc.ChainStreamInterceptor(atrgrpc.StreamServerInterceptor(a)),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if err := atrgrpc.Reserve(a, srv); err != nil {
		panic(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)

	_, tracked := a.Snapshot("/grpc.health.v1.Health/Check")
	fmt.Println("health check tracked:", tracked)
	// Output:
	// SERVING <nil>
	// health check tracked: false
}

// A client guards its calls to a dependency: once the dependency fails
// for long enough, calls fail at once, locally, with Unavailable, instead
// of waiting on it. (A manual clock stands in for the seconds a real
// outage takes.)
func ExampleUnaryClientInterceptor() {
	clk := atrion.NewManualClock(time.Unix(0, 0))
	a, err := atrion.New(atrion.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	// a dependency that is down: nothing listens at its address
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := lis.Addr().String()
	lis.Close()

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(atrgrpc.UnaryClientInterceptor(a)),
		grpc.WithChainStreamInterceptor(atrgrpc.StreamClientInterceptor(a)),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	dep := testgrpc.NewTestServiceClient(conn)

	var err2 error
	for range 100 { // one failing call per 100 ms tick, for at most 10 s
		_, err2 = dep.EmptyCall(context.Background(), &testgrpc.Empty{})
		if s, _ := a.Snapshot("/grpc.testing.TestService/EmptyCall"); s.Mode == atrion.ModeCircuitOpen {
			break
		}
		clk.Advance(100 * time.Millisecond)
	}
	fmt.Println(status.Code(err2))
	_, err = dep.EmptyCall(context.Background(), &testgrpc.Empty{})
	msg, _, _ := strings.Cut(status.Convert(err).Message(), ";")
	fmt.Println(status.Code(err), errors.Is(err, atrgrpc.ErrRejected), msg)
	// Output:
	// Unavailable
	// Unavailable true atrion: client rejected the call (circuit_open, CIRCUIT_OPEN)
}

// Calls carry their priority in metadata, set by a trusted proxy in front
// of the server; under load, lower priorities are shed first and critical
// calls only by an open circuit.
func ExampleWithPriorityMetadata() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a,
		// x-priority must come from a trusted hop (a proxy that sets it and
		// strips it from outside calls): critical, high, normal, low, bulk
		atrgrpc.WithPriorityMetadata("x-priority"),
		atrgrpc.WithRejectionCode(codes.ResourceExhausted), // instead of Unavailable
		// health checks and reflection pass unguarded (WithOperationalMethods)
	)))
	defer srv.Stop()

	// a (trusted) client marks a call as bulk work:
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-priority", "bulk")
	_ = ctx // healthpb.NewHealthClient(conn).Check(ctx, ...)
}

// Each call names its client, here the tenant a trusted gateway put in
// the metadata; a tenant whose calls keep failing on its own (invalid or
// unauthorised calls, while others' calls succeed) is banned on every node
// that shares the engine's provider, and a banned tenant is refused with
// ResourceExhausted before its handler runs. (The example calls the
// interceptor directly, as a server would.)
func ExampleWithClientKey() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	tenant := func(ctx context.Context, _ string) string {
		if vs := metadata.ValueFromIncomingContext(ctx, "x-tenant"); len(vs) == 1 {
			return vs[0]
		}
		return "" // no key: admitted as any call
	}
	in := atrgrpc.UnaryServerInterceptor(a, atrgrpc.WithClientKey(tenant))
	_ = grpc.NewServer(grpc.ChainUnaryInterceptor(in)) // where it goes

	place := func(t string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-tenant", t))
		_, err := in(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/shop.Orders/Place"},
			func(context.Context, any) (any, error) { return "placed", nil })
		return err
	}
	_ = a.Ban("tenant-13", time.Hour) // as evidence, or an operator, would
	fmt.Println(status.Code(place("tenant-13")), status.Code(place("tenant-7")))
	// Output:
	// ResourceExhausted OK
}
