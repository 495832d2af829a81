package atrotel_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/observability/internal/obstest"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// tracedEngine returns an engine on a manual clock that observes with a
// Tracer, and a function that opens a route's circuit by failing it.
func tracedEngine(t *testing.T) (*atrion.Atrion, *atrotel.Tracer, func(route string)) {
	tr := atrotel.NewTracer()
	r := obstest.New(t, atrion.WithObserver(tr))
	return r.A, tr, func(route string) { atriontest.Trip(t, r.A, r.Clk, route) }
}

// shedEvent returns the "atrion.shed" event of the ended span named name
// (the last such span), and whether there is one.
func shedEvent(s *spans, name string) (sdktrace.Event, bool) {
	ended := s.rec.Ended()
	for i := len(ended) - 1; i >= 0; i-- {
		if ended[i].Name() != name {
			continue
		}
		for _, e := range ended[i].Events() {
			if e.Name == atrotel.EventShed {
				return e, true
			}
		}
		return sdktrace.Event{}, false
	}
	return sdktrace.Event{}, false
}

func attr(e sdktrace.Event, key string) string {
	for _, kv := range e.Attributes {
		if kv.Key == attribute.Key(key) {
			return kv.Value.Emit()
		}
	}
	return ""
}

// atrgin's decision hook, given the Tracer's RecordDecision, puts the shed
// event on the span otelgin started for the request: no guard of one's
// own.
func TestShedEventOnOtelginSpan(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	s := newSpans(t)
	a, tr, open := tracedEngine(t)
	r := gin.New()
	r.Use(otelgin.Middleware("shop", otelgin.WithTracerProvider(s.tp)),
		atrgin.Middleware(a, atrgin.WithDecisionHook(tr.RecordDecision)))
	r.GET("/pay/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	srv := httptest.NewServer(r)
	defer srv.Close()
	get := func() int {
		res, err := http.Get(srv.URL + "/pay/7")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}

	if code := get(); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if _, ok := shedEvent(s, "GET /pay/:id"); ok {
		t.Fatal("an admitted request's span has a shed event")
	}
	open("GET /pay/:id")
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d on an open route, want 503", code)
	}
	e, ok := shedEvent(s, "GET /pay/:id")
	if !ok {
		t.Fatalf("otelgin's span of the rejected request has no %s event; spans: %v", atrotel.EventShed, spanNames(s))
	}
	if attr(e, "atrion.route") != "GET /pay/:id" || attr(e, "atrion.reason") != "circuit_open" || attr(e, "atrion.mode") != "CIRCUIT_OPEN" {
		t.Errorf("shed event attributes %v", e.Attributes)
	}
}

// atrgrpc's decision hook puts the shed event on the span otelgrpc's
// server stats handler started for the call.
func TestShedEventOnOtelgrpcSpan(t *testing.T) {
	s := newSpans(t)
	a, tr, open := tracedEngine(t)
	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(s.tp))),
		grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a, atrgrpc.WithDecisionHook(tr.RecordDecision))))
	testgrpc.RegisterTestServiceServer(srv, testService{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)
	const method = "/grpc.testing.TestService/EmptyCall"
	span := method[1:] // otelgrpc names a span by the method without its slash

	if _, err := client.EmptyCall(context.Background(), &testgrpc.Empty{}); err != nil {
		t.Fatal(err)
	}
	open(method)
	if _, err := client.EmptyCall(context.Background(), &testgrpc.Empty{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("call on an open route: %v, want Unavailable", err)
	}
	var e sdktrace.Event
	deadline := time.Now().Add(5 * time.Second)
	ok := false
	for !ok && time.Now().Before(deadline) { // the server ends its span after the client has its answer
		e, ok = shedEvent(s, span)
		time.Sleep(time.Millisecond)
	}
	if !ok {
		t.Fatalf("otelgrpc's server span of the rejected call has no %s event", atrotel.EventShed)
	}
	if attr(e, "atrion.route") != method || attr(e, "atrion.reason") != "circuit_open" {
		t.Errorf("shed event attributes %v", e.Attributes)
	}
	if k := spanKind(s, span); k != trace.SpanKindServer {
		t.Errorf("the event is on a %v span, want the server's", k)
	}
}

func spanNames(s *spans) []string {
	var names []string
	for _, sp := range s.rec.Ended() {
		names = append(names, sp.Name())
	}
	return names
}

func spanKind(s *spans, name string) trace.SpanKind {
	for _, sp := range s.rec.Ended() {
		if sp.Name() == name {
			return sp.SpanKind()
		}
	}
	return trace.SpanKindUnspecified
}

type testService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (testService) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}
