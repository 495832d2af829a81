package atrotel

import (
	"context"
	"sync"
	"sync/atomic"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/series"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Span event names and attribute keys.
const (
	// EventShed is added to a request's span when Atrion rejects it.
	EventShed = "atrion.shed"
	// EventTransition is added to the span of the first traced request on a
	// route after the route changed mode.
	EventTransition = "atrion.transition"

	attrReason     = "atrion.reason"
	attrMode       = "atrion.mode"
	attrResistance = "atrion.resistance"
	attrScar       = "atrion.scar_tissue"
	attrRetryAfter = "atrion.retry_after_ms"
)

// RecordDecision adds an "atrion.shed" event to the span in ctx when d
// rejected the request and the span is recording, with the route, the
// reason, the mode and the retry hint in milliseconds (the resistance is
// on the Tracer's transition events).
// Call it with every decision (the allowed ones cost a check); it does
// nothing and does not allocate when the span is not recording. route is
// the route ID given to Admit. To add mode transitions too, use a Tracer.
func RecordDecision(ctx context.Context, route string, d atrion.Decision) {
	span := trace.SpanFromContext(ctx)
	if d.Allowed || !span.IsRecording() {
		return
	}
	addShed(span, route, d)
}

func addShed(span trace.Span, route string, d atrion.Decision) {
	span.AddEvent(EventShed, trace.WithAttributes(
		attribute.String(series.RouteAttr, series.RouteLabelValue(route)),
		attribute.String(attrReason, d.Reason.String()),
		attribute.String(attrMode, d.Mode.String()),
		attribute.Int64(attrRetryAfter, d.RetryAfter.Milliseconds()),
	))
}

// Tracer adds Atrion's events to the spans of the requests they concern:
// rejections, like RecordDecision, and mode transitions. A transition
// happens at a tick's end, not inside one request, so the Tracer, given to
// the engine as an observer, keeps each route's transitions until the next
// recording span on that route passes through RecordDecision, which adds
// them to it as "atrion.transition" events (route, from, to, resistance,
// scar tissue). The trace of the first sampled request after a circuit
// opens then shows why it was shed.
//
//	tr := atrotel.NewTracer()
//	a, err := atrion.New(atrion.WithObserver(tr))
//	...
//	t, d := a.Admit(route, p)
//	tr.RecordDecision(ctx, route, d)
//
// It keeps at most 4 transitions per route (the latest) for at most 10,000
// routes. It is safe for concurrent use; no span is created.
type Tracer struct {
	pending atomic.Int64 // routes with kept transitions: the fast path's check
	mu      sync.Mutex
	routes  map[string][]transition
}

// transition is what a Tracer keeps of a transition event.
type transition struct {
	from, to   atrion.Mode
	resistance float64
	scar       float64
}

const (
	maxPendingRoutes   = 10_000
	maxPendingPerRoute = 4
)

// NewTracer returns a Tracer with no transitions kept.
func NewTracer() *Tracer { return new(Tracer) }

// OnUpdate keeps e when it is a mode transition (atrion.Observer).
func (t *Tracer) OnUpdate(e atrion.Event) {
	if e.Kind != atrion.EventTransition {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.routes == nil {
		t.routes = make(map[string][]transition)
	}
	kept, ok := t.routes[e.Route]
	if !ok && len(t.routes) >= maxPendingRoutes {
		return
	}
	if len(kept) == maxPendingPerRoute {
		kept = append(kept[:0], kept[1:]...)
	}
	t.routes[e.Route] = append(kept, transition{from: e.From, to: e.To, resistance: e.Resistance, scar: e.Scar})
	t.pending.Store(int64(len(t.routes)))
}

// RecordDecision adds the transitions kept for route, then an
// "atrion.shed" event when d rejected the request, to the span in ctx when
// it is recording. It does nothing and does not allocate when the span is
// not recording, nor when the span records an admitted request and no
// transitions are kept.
func (t *Tracer) RecordDecision(ctx context.Context, route string, d atrion.Decision) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if t.pending.Load() > 0 {
		t.addTransitions(span, route)
	}
	if !d.Allowed {
		addShed(span, route, d)
	}
}

func (t *Tracer) addTransitions(span trace.Span, route string) {
	t.mu.Lock()
	kept, ok := t.routes[route]
	if ok {
		delete(t.routes, route)
		t.pending.Store(int64(len(t.routes)))
	}
	t.mu.Unlock()
	for _, tr := range kept {
		span.AddEvent(EventTransition, trace.WithAttributes(
			attribute.String(series.RouteAttr, series.RouteLabelValue(route)),
			attribute.String(series.Transitions.FromAttr, tr.from.String()),
			attribute.String(series.Transitions.ToAttr, tr.to.String()),
			attribute.Float64(attrResistance, tr.resistance),
			attribute.Float64(attrScar, tr.scar),
		))
	}
}
