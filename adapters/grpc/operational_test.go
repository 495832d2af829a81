package atrgrpc_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

const (
	healthCheck    = "/grpc.health.v1.Health/Check"
	reflectionInfo = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
)

// TestOperationalMethodsSkipped: on a real server over loopback TCP, the
// health service and server reflection pass through the interceptors
// unguarded by default (never tracked, never reserved), and are guarded
// like any method with WithOperationalMethods.
func TestOperationalMethodsSkipped(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		a, clk := atriontest.New(t)
		var opts []atrgrpc.Option
		if guarded {
			opts = append(opts, atrgrpc.WithOperationalMethods())
		}
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a, opts...)),
			grpc.ChainStreamInterceptor(atrgrpc.StreamServerInterceptor(a, opts...)))
		healthpb.RegisterHealthServer(srv, health.NewServer())
		reflection.Register(srv)
		if err := atrgrpc.Reserve(a, srv, opts...); err != nil {
			t.Fatal(err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(lis)
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("guarded %v: health check %v, %v", guarded, res, err)
		}
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("guarded %v: reflection: %v", guarded, err)
		}
		stream.CloseSend()
		cancel()
		conn.Close()
		srv.Stop()
		clk.Advance(a.Tick())

		if n := a.Stats().Reserved; !guarded && n != 1 {
			t.Fatalf("Reserve reserved %d route IDs, want only the unmatched route: health and reflection are skipped", n)
		}
		routes := a.Routes()
		for _, m := range []string{healthCheck, reflectionInfo} {
			s, tracked := a.Snapshot(m)
			switch {
			case !guarded && slices.Contains(routes, m):
				t.Fatalf("%s is tracked by default (routes %q): a health check must not be shed", m, routes)
			case guarded && (!tracked || s.Totals.Decisions != 1):
				t.Fatalf("WithOperationalMethods: %s tracked %v, decisions %d, want 1", m, tracked, s.Totals.Decisions)
			}
		}
	}
}
