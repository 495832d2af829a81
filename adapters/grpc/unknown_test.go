package atrgrpc_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// proxyServer is a real server on loopback TCP whose unknown-service
// handler (a proxy or gateway's) answers every method it does not know
// with Unimplemented, as a backend would for junk.
func proxyServer(t *testing.T, a *atrion.Atrion, opts ...atrgrpc.Option) (*grpc.Server, *grpc.ClientConn) {
	t.Helper()
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a, opts...)),
		grpc.ChainStreamInterceptor(atrgrpc.StreamServerInterceptor(a, opts...)),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			m, _ := grpc.MethodFromServerStream(ss)
			return status.Errorf(codes.Unimplemented, "no backend serves %s", m)
		}),
	)
	testgrpc.RegisterTestServiceServer(srv, newService(atrion.NewManualClock(time.Unix(0, 0))))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return srv, conn
}

// TestUnregisteredMethodsShareOneRoute: behind an unknown-service handler,
// 1,500 junk method names are one route, Unimplemented is no failure
// there, and the registered methods keep their own routes.
func TestUnregisteredMethodsShareOneRoute(t *testing.T) {
	a := newEngine(t, atrion.NewManualClock(time.Unix(0, 0)))
	_, conn := proxyServer(t, a)
	ctx := context.Background()
	const junk = 1500
	for i := range junk {
		err := conn.Invoke(ctx, fmt.Sprintf("/junk.Service%d/Method%d", i%37, i), &testgrpc.Empty{}, &testgrpc.Empty{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("junk call %d: %v", i, err)
		}
	}
	if _, err := testgrpc.NewTestServiceClient(conn).EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
		t.Fatal(err)
	}
	routes := a.Routes()
	un, _ := a.Snapshot(atrion.UnmatchedRoute)
	var failures uint64
	for _, s := range a.Snapshots() {
		failures += s.Totals.Failures
	}
	t.Logf("%d junk methods: %d routes, %d failures recorded; the unregistered route: %d admitted, %d ignored",
		junk, len(routes), failures, un.Totals.Admitted, un.Totals.Ignored)
	if want := []string{atrion.UnmatchedRoute, emptyMethod, atrion.OverflowRoute}; !slices.Equal(routes, want) {
		t.Fatalf("routes %.300q, want %q", routes, want)
	}
	if un.Totals.Admitted != junk || un.Totals.Failures != 0 || un.Totals.Ignored != junk {
		t.Errorf("unregistered route totals %+v: want %d admitted, all ignored", un.Totals, junk)
	}
}

// TestReserveServer: Reserve gives every method a server registered a
// slot of its own, so that junk that filled the engine's table (and opened
// the overflow route) never blocks one first called afterwards; without
// it, such a method lands in the open overflow route.
func TestReserveServer(t *testing.T) {
	for _, reserve := range []bool{false, true} {
		t.Run(fmt.Sprintf("reserved=%v", reserve), func(t *testing.T) {
			clk := atrion.NewManualClock(time.Unix(0, 0))
			a := newEngine(t, clk, atrion.WithMaxRoutes(20))
			srv, conn := proxyServer(t, a)
			if reserve {
				if err := atrgrpc.Reserve(a, srv); err != nil {
					t.Fatal(err)
				}
				want := 1 // the unmatched route
				for _, info := range srv.GetServiceInfo() {
					want += len(info.Methods)
				}
				if got := a.Stats().Reserved; got != want {
					t.Errorf("reserved %d, want %d", got, want)
				}
			}
			junk := func() { // failing junk from elsewhere in the process
				for i := range 40 {
					atriontest.Send(a, fmt.Sprintf("/other.Dependency/Call%d", i), 1, atrion.Failure)
				}
			}
			junk() // a first tick fills the table
			clk.Advance(a.Tick())
			atriontest.Until(t, a, clk, atrion.OverflowRoute, atrion.ModeCircuitOpen, 49, junk)
			served := 0
			c := testgrpc.NewTestServiceClient(conn)
			for range 50 {
				if _, err := c.EmptyCall(context.Background(), &testgrpc.Empty{}); err == nil {
					served++
				}
			}
			t.Logf("after the overflow route opened: %d of 50 calls to a registered method served", served)
			if want := map[bool]int{false: 0, true: 50}[reserve]; served != want {
				t.Errorf("%d of 50 calls served, want %d", served, want)
			}
		})
	}
}
