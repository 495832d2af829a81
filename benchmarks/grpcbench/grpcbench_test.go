package grpcbench

import (
	"context"
	"net"
	"testing"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"
)

const method = "/grpc.testing.TestService/EmptyCall"

// guard is what runs on one side of a call.
type guard uint8

const (
	none   guard = iota
	noop         // a pass-through interceptor: what gRPC's interceptor plumbing costs
	atrion       // the adapter's interceptor
)

// variants of the call: what runs on each side.
var variants = []struct {
	name           string
	server, client guard
}{
	{"bare", none, none},
	{"noop-server", noop, none},
	{"server", atrion, none},
	{"client", none, atrion},
	{"server+client", atrion, atrion},
}

func passUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(ctx, req)
}

type service struct {
	testgrpc.UnimplementedTestServiceServer
}

func (service) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

// connect starts a server over bufconn and returns a client of it, with
// the adapter on the sides asked for; everything stops when b ends.
func connect(b *testing.B, server, client guard) testgrpc.TestServiceClient {
	b.Helper()
	var sopts []grpc.ServerOption
	switch server {
	case noop:
		sopts = append(sopts, grpc.UnaryInterceptor(passUnary))
	case atrion:
		a := rig.Engine(b, []string{method})
		sopts = append(sopts, grpc.UnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)))
	}
	srv := grpc.NewServer(sopts...)
	testgrpc.RegisterTestServiceServer(srv, service{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()

	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	}
	if client == atrion {
		a := rig.Engine(b, []string{method})
		dopts = append(dopts, grpc.WithUnaryInterceptor(atrgrpc.UnaryClientInterceptor(a)))
	}
	conn, err := grpc.NewClient("passthrough:///bufconn", dopts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	c := testgrpc.NewTestServiceClient(conn)
	if _, err := c.EmptyCall(context.Background(), &testgrpc.Empty{}); err != nil { // connect
		b.Fatal(err)
	}
	return c
}

// BenchmarkUnary makes one unary call per iteration over bufconn.
func BenchmarkUnary(b *testing.B) {
	ctx := context.Background()
	req := &testgrpc.Empty{}
	b.Run("serial", func(b *testing.B) {
		for _, v := range variants {
			b.Run(v.name, func(b *testing.B) {
				c := connect(b, v.server, v.client)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.EmptyCall(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for _, v := range variants {
			b.Run(v.name, func(b *testing.B) {
				c := connect(b, v.server, v.client)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.EmptyCall(ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	})
}

// BenchmarkInterceptor calls the interceptors directly around a handler
// (or invoker) that returns at once: their own cost, without the call's,
// serially and from GOMAXPROCS goroutines on one engine.
func BenchmarkInterceptor(b *testing.B) {
	ctx := context.Background()
	req, resp := &testgrpc.Empty{}, &testgrpc.Empty{}
	info := &grpc.UnaryServerInfo{FullMethod: method}
	handler := func(context.Context, any) (any, error) { return resp, nil }
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	subjects := []struct {
		name  string
		setup func(b *testing.B) func() error
	}{
		{"bare", func(*testing.B) func() error {
			return func() error { _, err := handler(ctx, req); return err }
		}},
		{"admit+done", func(b *testing.B) func() error {
			a := rig.Engine(b, []string{method})
			return func() error { rig.AdmitDone(a, method); return nil }
		}},
		{"server", func(b *testing.B) func() error {
			in := atrgrpc.UnaryServerInterceptor(rig.Engine(b, []string{method}))
			return func() error { _, err := in(ctx, req, info, handler); return err }
		}},
		{"server+key", func(b *testing.B) func() error {
			// WithClientKey from a key the server already holds (a
			// verified identity's ID): what judging the key adds
			in := atrgrpc.UnaryServerInterceptor(rig.Engine(b, []string{method}),
				atrgrpc.WithClientKey(func(context.Context, string) string { return "tenant-42" }))
			return func() error { _, err := in(ctx, req, info, handler); return err }
		}},
		{"client", func(b *testing.B) func() error {
			in := atrgrpc.UnaryClientInterceptor(rig.Engine(b, []string{method}))
			return func() error { return in(ctx, method, req, resp, nil, invoker) }
		}},
	}
	b.Run("serial", func(b *testing.B) {
		for _, s := range subjects {
			b.Run(s.name, func(b *testing.B) {
				call := s.setup(b)
				b.ReportAllocs()
				for b.Loop() {
					if err := call(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
	b.Run("parallel", func(b *testing.B) {
		for _, s := range subjects {
			b.Run(s.name, func(b *testing.B) {
				call := s.setup(b)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := call(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	})
}
