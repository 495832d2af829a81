package atrotel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/obstest"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// spans is a TracerProvider that records ended spans in memory.
type spans struct {
	rec *tracetest.SpanRecorder
	tp  *sdktrace.TracerProvider
}

func newSpans(t *testing.T, opts ...sdktrace.TracerProviderOption) *spans {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(rec)}, opts...)...)
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return &spans{rec: rec, tp: tp}
}

// within runs f inside a new span and returns that span's events, one
// string each: name and attributes.
func (s *spans) within(f func(ctx context.Context)) []string {
	ctx, span := s.tp.Tracer("test").Start(context.Background(), "request")
	f(ctx)
	span.End()
	ended := s.rec.Ended()
	var out []string
	for _, e := range ended[len(ended)-1].Events() {
		var kv []string
		for _, a := range e.Attributes {
			kv = append(kv, string(a.Key)+"="+a.Value.Emit())
		}
		out = append(out, e.Name+" "+strings.Join(kv, " "))
	}
	return out
}

func rejected() atrion.Decision {
	return atrion.Decision{Reason: atrion.ReasonCircuitOpen, Mode: atrion.ModeCircuitOpen, RetryAfter: 1500e6}
}

func TestRecordDecision(t *testing.T) {
	s := newSpans(t)
	got := s.within(func(ctx context.Context) {
		atrotel.RecordDecision(ctx, "GET /a", atrion.Decision{Allowed: true, Mode: atrion.ModeOperational})
		atrotel.RecordDecision(ctx, "GET /a", rejected())
	})
	want := "atrion.shed atrion.route=GET /a atrion.reason=circuit_open atrion.mode=CIRCUIT_OPEN atrion.retry_after_ms=1500"
	if len(got) != 1 || got[0] != want {
		t.Errorf("events = %q\nwant [%q]", got, want)
	}
	// a route ID that is not valid UTF-8 is sanitized
	got = s.within(func(ctx context.Context) { atrotel.RecordDecision(ctx, "GET /\xff", rejected()) })
	if len(got) != 1 || !strings.Contains(got[0], "atrion.route=GET /\uFFFD ") {
		t.Errorf("events = %q", got)
	}
}

// TestNotRecordingDoesNotAllocate pins that a span that is not recording
// (none in the context, or not sampled) costs no allocation and gets no
// event, with or without a Tracer holding transitions.
func TestNotRecordingDoesNotAllocate(t *testing.T) {
	s := newSpans(t, sdktrace.WithSampler(sdktrace.NeverSample()))
	unsampled, span := s.tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	tr := atrotel.NewTracer()
	tr.OnUpdate(atrion.Event{Kind: atrion.EventTransition, Route: "GET /a", From: atrion.ModeOperational, To: atrion.ModeCircuitOpen})
	d := rejected()
	for name, ctx := range map[string]context.Context{"no span": context.Background(), "not sampled": unsampled} {
		if n := testing.AllocsPerRun(100, func() { atrotel.RecordDecision(ctx, "GET /a", d) }); n != 0 {
			t.Errorf("%s: RecordDecision allocates %v times", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { tr.RecordDecision(ctx, "GET /a", d) }); n != 0 {
			t.Errorf("%s: Tracer.RecordDecision allocates %v times", name, n)
		}
	}
	// the transition is still kept for a recording span
	rs := newSpans(t)
	if got := rs.within(func(ctx context.Context) { tr.RecordDecision(ctx, "GET /a", atrion.Decision{Allowed: true}) }); len(got) != 1 {
		t.Errorf("events = %q, want the kept transition", got)
	}
	// recording, admitted, nothing kept: no allocation either
	ctx, rspan := rs.tp.Tracer("test").Start(context.Background(), "request")
	defer rspan.End()
	ok := atrion.Decision{Allowed: true}
	if n := testing.AllocsPerRun(100, func() { tr.RecordDecision(ctx, "GET /a", ok) }); n != 0 {
		t.Errorf("recording, admitted: Tracer.RecordDecision allocates %v times", n)
	}
}

// TestTracerTransitions trips a real engine with a Tracer observing it: the
// first recording span on the route afterwards gets the transition and the
// shed event, the next one the shed event only.
func TestTracerTransitions(t *testing.T) {
	tr := atrotel.NewTracer()
	r := obstest.New(t, atrion.WithObserver(tr))
	s := newSpans(t)
	const route = "GET /payments/:id"
	r.Trip(t, route, obstest.NewTally())
	r.Flush(t)

	// another route's request does not take them
	if got := s.within(func(ctx context.Context) {
		_, d := r.A.Admit("GET /other", atrion.PriorityNormal)
		tr.RecordDecision(ctx, "GET /other", d)
	}); len(got) != 0 {
		t.Errorf("other route: events %q", got)
	}
	first := s.within(func(ctx context.Context) {
		_, d := r.A.Admit(route, atrion.PriorityNormal)
		tr.RecordDecision(ctx, route, d)
	})
	if len(first) != 2 || !strings.HasPrefix(first[0], "atrion.transition atrion.route="+route+" atrion.mode.from=OPERATIONAL atrion.mode.to=CIRCUIT_OPEN atrion.resistance=") ||
		!strings.HasPrefix(first[1], "atrion.shed ") || !strings.Contains(first[1], "atrion.reason=circuit_open") {
		t.Errorf("first span's events:\n%s", strings.Join(first, "\n"))
	}
	second := s.within(func(ctx context.Context) {
		_, d := r.A.Admit(route, atrion.PriorityNormal)
		tr.RecordDecision(ctx, route, d)
	})
	if len(second) != 1 || !strings.HasPrefix(second[0], "atrion.shed ") {
		t.Errorf("second span's events: %q", second)
	}
}

// TestTracerBounds checks that a Tracer keeps the latest 4 transitions of
// a route, for at most 10,000 routes, and ignores tick events.
func TestTracerBounds(t *testing.T) {
	tr := atrotel.NewTracer()
	modes := []atrion.Mode{atrion.ModeOperational, atrion.ModeCircuitOpen, atrion.ModeRecovering}
	for i := range 6 {
		tr.OnUpdate(atrion.Event{Kind: atrion.EventTransition, Route: "r", From: modes[i%3], To: modes[(i+1)%3], Resistance: float64(i)})
	}
	tr.OnUpdate(atrion.Event{Kind: atrion.EventTick, Route: "r"})
	s := newSpans(t)
	got := s.within(func(ctx context.Context) { tr.RecordDecision(ctx, "r", atrion.Decision{Allowed: true}) })
	if len(got) != 4 || !strings.Contains(got[0], "atrion.resistance=2") || !strings.Contains(got[3], "atrion.resistance=5") {
		t.Errorf("events:\n%s", strings.Join(got, "\n"))
	}
	for i := range 10_001 {
		tr.OnUpdate(atrion.Event{Kind: atrion.EventTransition, Route: fmt.Sprint("route-", i), From: atrion.ModeOperational, To: atrion.ModeCircuitOpen})
	}
	if got := s.within(func(ctx context.Context) { tr.RecordDecision(ctx, "route-9999", atrion.Decision{Allowed: true}) }); len(got) != 1 {
		t.Errorf("10,000th route: %d events, want 1", len(got))
	}
	if got := s.within(func(ctx context.Context) { tr.RecordDecision(ctx, "route-10000", atrion.Decision{Allowed: true}) }); len(got) != 0 {
		t.Errorf("10,001st route: %d events, want 0 (over the bound)", len(got))
	}
}

// TestSpanFromContextIsTheCurrentSpan checks that the events land on the
// span in the context, not on a new one.
func TestSpanFromContextIsTheCurrentSpan(t *testing.T) {
	s := newSpans(t)
	s.within(func(ctx context.Context) { atrotel.RecordDecision(ctx, "GET /a", rejected()) })
	if n := len(s.rec.Ended()); n != 1 {
		t.Errorf("%d spans, want 1: no span is created", n)
	}
	if n := len(s.rec.Started()); n != 1 {
		t.Errorf("%d spans started, want 1", n)
	}
}
