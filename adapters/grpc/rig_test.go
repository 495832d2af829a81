package atrgrpc_test

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The tests run grpc's own interop TestService (generated stubs and the
// proto codec, no protoc needed) on a real server. Its four call kinds are
// the routes below.
const (
	unaryMethod  = "/grpc.testing.TestService/UnaryCall"
	emptyMethod  = "/grpc.testing.TestService/EmptyCall"
	outputMethod = "/grpc.testing.TestService/StreamingOutputCall" // server streaming
	inputMethod  = "/grpc.testing.TestService/StreamingInputCall"  // client streaming
	duplexMethod = "/grpc.testing.TestService/FullDuplexCall"      // bidirectional
)

// Behaviours a request asks of the test service, in EchoStatus.Message
// (unary, server streaming, bidi) or a payload body (client streaming).
const (
	doPanic = "panic" // the handler panics
	doBlock = "block" // the handler blocks until its context ends
	doSlow  = "slow"  // client streaming: advance the clock 2 s before answering
	// the handler's own downstream call, with a timeout of its own (1 ms),
	// times out while the caller still waits: DeadlineExceeded
	doOwnTimeout = "own-timeout"
	// the handler waits until its caller has gone, then its own downstream
	// call (on a context of its own) times out: DeadlineExceeded, before
	// the caller's deadline
	doOwnTimeoutLate = "own-timeout-late"
)

// service is the test service. Handlers that model slow work advance the
// manual clock, so that latencies are exact.
type service struct {
	testgrpc.UnimplementedTestServiceServer
	clk     *atrion.ManualClock
	calls   atomic.Int64  // handler invocations
	started chan struct{} // a blocking handler started (buffered)
	gate    chan struct{} // lets a waiting stream send its next message
	decided atomic.Int64  // handler invocations whose context carries a decision
}

// saw counts a handler's context that carries an Atrion decision.
func (s *service) saw(ctx context.Context) {
	if _, ok := atrion.DecisionFrom(ctx); ok {
		s.decided.Add(1)
	}
}

func newService(clk *atrion.ManualClock) *service {
	return &service{clk: clk, started: make(chan struct{}, 16), gate: make(chan struct{})}
}

// behave does what an EchoStatus asks: panic, block, or return its code.
func (s *service) behave(ctx context.Context, st *testgrpc.EchoStatus) error {
	switch {
	case st == nil:
		return nil
	case st.GetMessage() == doPanic:
		panic("test handler panics")
	case st.GetMessage() == doBlock:
		s.started <- struct{}{}
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	case st.GetMessage() == doOwnTimeout:
		down, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		<-down.Done()
		return status.FromContextError(down.Err()).Err()
	case st.GetMessage() == doOwnTimeoutLate:
		s.started <- struct{}{}
		<-ctx.Done()
		down, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		<-down.Done()
		return status.FromContextError(down.Err()).Err()
	case st.GetCode() != 0:
		return status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return nil
}

func (s *service) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	s.calls.Add(1)
	return &testgrpc.Empty{}, nil
}

func (s *service) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	s.calls.Add(1)
	s.saw(ctx)
	if err := s.behave(ctx, req.GetResponseStatus()); err != nil {
		return nil, err
	}
	return &testgrpc.SimpleResponse{}, nil
}

// StreamingOutputCall sends its messages (respond), then does what the
// status asks.
func (s *service) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream testgrpc.TestService_StreamingOutputCallServer) error {
	s.calls.Add(1)
	if err := s.respond(stream, req.GetResponseParameters()); err != nil {
		return err
	}
	return s.behave(stream.Context(), req.GetResponseStatus())
}

// respond sends one message per parameter, first advancing the clock by
// its interval, or for a negative interval waiting for the gate.
func (s *service) respond(stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse], ps []*testgrpc.ResponseParameters) error {
	for _, p := range ps {
		if p.GetIntervalUs() < 0 {
			select {
			case <-s.gate:
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		s.clk.Advance(time.Duration(max(0, p.GetIntervalUs())) * time.Microsecond)
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall reads every message, then answers; a payload body
// asks for a behaviour, or is the number of a status code to end with.
func (s *service) StreamingInputCall(stream testgrpc.TestService_StreamingInputCallServer) error {
	s.calls.Add(1)
	slow := false
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch body := string(req.GetPayload().GetBody()); body {
		case doSlow:
			slow = true
		case "":
		default: // a behaviour or a status code
			code, _ := strconv.Atoi(body)
			if err := s.behave(stream.Context(), &testgrpc.EchoStatus{Code: int32(code), Message: body}); err != nil {
				return err
			}
		}
	}
	if slow {
		s.clk.Advance(2 * time.Second)
	}
	return stream.SendAndClose(&testgrpc.StreamingInputCallResponse{})
}

// FullDuplexCall answers each message as StreamingOutputCall does, until
// the client closes or a message asks for a status.
func (s *service) FullDuplexCall(stream testgrpc.TestService_FullDuplexCallServer) error {
	s.calls.Add(1)
	s.saw(stream.Context())
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.behave(stream.Context(), req.GetResponseStatus()); err != nil {
			return err
		}
		if err := s.respond(stream, req.GetResponseParameters()); err != nil {
			return err
		}
	}
}

// recoverUnary and recoverStream turn a handler's panic into Internal,
// as a recovery middleware does; the tests chain them outermost, so the
// panic passes through the Atrion interceptors first.
func recoverUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "panic: %v", p)
		}
	}()
	return h(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "panic: %v", p)
		}
	}()
	return h(srv, ss)
}

// newEngine returns an engine on clk whose routes trip and recover at the
// static points (atriontest.Static); opts add to or override that. The
// rig's engines share one clock, hence NewEngine. It is closed when t ends.
func newEngine(t testing.TB, clk *atrion.ManualClock, opts ...atrion.Option) *atrion.Atrion {
	t.Helper()
	return atriontest.NewEngine(t, atriontest.Static(append([]atrion.Option{atrion.WithClock(clk)}, opts...)...)...)
}

// quickTrip is physics under which a route opens after one failing tick
// and its open-circuit retry hint is about 100 ms (ln(1000)/70 s). It
// never recovers (its recovery point is below R_base): for tests of
// rejection only.
var quickTrip = atrion.WithPhysics(atrion.PhysicsConfig{
	BootstrapTicks: atrion.NoBootstrap, BreakMultiplier: 1.5, DecayRate: 70,
})

// setup says how to build a rig. Zero values: bufconn, a fresh manual
// clock, no options.
type setup struct {
	tcp           bool                // loopback TCP instead of bufconn
	clk           *atrion.ManualClock // shared clock; nil: a new one
	engine        []atrion.Option     // the server engine's options
	server        []atrgrpc.Option    // the server interceptors' options
	noServerGuard bool                // no Atrion on the server
	guardClient   bool                // guard the client with an engine of its own
	clientEngine  []atrion.Option     // the client engine's options
	client        []atrgrpc.Option    // the client interceptors' options
	outerUnary    grpc.UnaryServerInterceptor
	outerStream   grpc.StreamServerInterceptor
	innerUnary    grpc.UnaryClientInterceptor // after the client's Atrion interceptor
	dial          []grpc.DialOption
}

// rig is a real gRPC server and a client connected to it.
type rig struct {
	clk    *atrion.ManualClock
	a      *atrion.Atrion // the server's engine (nil with noServerGuard)
	ca     *atrion.Atrion // the client's engine (nil unless guardClient)
	svc    *service
	srv    *grpc.Server
	client testgrpc.TestServiceClient
}

func newRig(t testing.TB, s setup) *rig {
	t.Helper()
	r := &rig{clk: s.clk}
	if r.clk == nil {
		r.clk = atrion.NewManualClock(time.Unix(1_700_000_000, 0))
	}
	r.svc = newService(r.clk)
	unary := []grpc.UnaryServerInterceptor{recoverUnary}
	stream := []grpc.StreamServerInterceptor{recoverStream}
	if s.outerUnary != nil {
		unary = append(unary, s.outerUnary)
	}
	if s.outerStream != nil {
		stream = append(stream, s.outerStream)
	}
	if !s.noServerGuard {
		r.a = newEngine(t, r.clk, s.engine...)
		unary = append(unary, atrgrpc.UnaryServerInterceptor(r.a, s.server...))
		stream = append(stream, atrgrpc.StreamServerInterceptor(r.a, s.server...))
	}
	r.srv = grpc.NewServer(grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))
	testgrpc.RegisterTestServiceServer(r.srv, r.svc)

	dial := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, s.dial...)
	var lis net.Listener
	target := "passthrough:///bufconn"
	if s.tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis, target = l, l.Addr().String()
	} else {
		bl := bufconn.Listen(1 << 20)
		lis = bl
		dial = append(dial, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return bl.DialContext(ctx)
		}))
	}
	if s.guardClient {
		r.ca = newEngine(t, r.clk, s.clientEngine...)
		dial = append(dial,
			grpc.WithChainUnaryInterceptor(atrgrpc.UnaryClientInterceptor(r.ca, s.client...)),
			grpc.WithChainStreamInterceptor(atrgrpc.StreamClientInterceptor(r.ca, s.client...)))
	}
	if s.innerUnary != nil {
		dial = append(dial, grpc.WithChainUnaryInterceptor(s.innerUnary))
	}
	go func() { _ = r.srv.Serve(lis) }()
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		r.srv.Stop()
	})
	r.client = testgrpc.NewTestServiceClient(conn)
	return r
}

// transports runs f once over bufconn and once over loopback TCP.
func transports(t *testing.T, f func(t *testing.T, tcp bool)) {
	for _, tcp := range []bool{false, true} {
		name := "bufconn"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) { f(t, tcp) })
	}
}

// withStatus is a unary request that asks for code (and message).
func withStatus(code codes.Code, msg string) *testgrpc.SimpleRequest {
	return &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(code), Message: msg}}
}

// totals returns a route's counters; the route must be tracked.
var totals = adaptertest.Totals

// waitFor polls cond for up to 5 s: for outcomes a server records after
// the client has already seen its call end.
var waitFor = adaptertest.WaitFor

// tripRoute calls do once per tick until a's route is CIRCUIT_OPEN, at
// most 200 ticks; every call must fail.
func tripRoute(t testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string, do func() error) {
	t.Helper()
	atriontest.Until(t, a, clk, route, atrion.ModeCircuitOpen, 200, func() {
		if err := do(); err == nil {
			t.Fatalf("the failing call on %s succeeded", route)
		}
	})
}

// rejected checks that err is an Atrion rejection with code and returns
// the retry delay of its RetryInfo detail.
func rejected(t testing.TB, err error, code codes.Code) time.Duration {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || !strings.HasPrefix(st.Message(), "atrion: ") {
		t.Fatalf("want an Atrion rejection with %v, got %v", code, err)
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("rejection %v has no RetryInfo detail", err)
	return 0
}
