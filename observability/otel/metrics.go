// Package atrotel publishes an Atrion engine to OpenTelemetry: its route
// state as observable instruments (RegisterMetrics), and its decisions as
// events on the spans of the requests they concern (RecordDecision,
// Tracer). Nothing is measured per request: the instruments read the
// engine when a reader collects, and span events are added only to spans
// that are recording.
//
// The meter is named ScopeName (this module's import path). Instruments,
// with their units (attributes in brackets; atrion.route on all but the
// engine's own):
//
//	atrion.route.resistance        1            R, a dimensionless score (R_base 10 at rest)
//	atrion.route.scar_tissue       1            S
//	atrion.route.momentum          1/s          M
//	atrion.route.pressure          1            [atrion.component: latency, error, saturation]
//	atrion.route.mode              1            [atrion.mode]; 1 for the current mode, 0 for the others
//	atrion.route.break_point       1            break point in force
//	atrion.route.recovery_point    1            recovery point in force
//	atrion.route.tuner.mean        1            AutoTuner mean of healthy R
//	atrion.route.tuner.deviation   1            AutoTuner standard deviation
//	atrion.route.latency_baseline  s            latency baseline (SLO or learned)
//	atrion.route.in_flight         {request}    requests in flight now
//	atrion.route.in_flight_limit   {request}    adaptive in-flight limit (0 until the first tick)
//	atrion.route.no_load_latency   s            learned no-load latency (0 until learned)
//	atrion.route.demand            1            (admitted + shed) / admitted, last 10 ticks
//	atrion.requests                {request}    counter [atrion.decision: admitted, circuit_open, shed, recovering, voltage]
//	atrion.request.outcomes        {request}    counter [atrion.outcome: success, failure, ignored]
//	atrion.mode.transitions        {transition} counter [atrion.mode.from, atrion.mode.to]; pairs that happened
//	atrion.route.count             {route}      up-down counter: tracked routes
//	atrion.overflow.hits, atrion.invalid_route_ids, atrion.evictions,
//	atrion.invalid_inputs, atrion.observer.panics, atrion.observer.drops,
//	atrion.provider.errors, atrion.peer.updates, atrion.peer.bad_updates
//	                                            counters: the engine's own
//
// Demand counts only the in-flight limit's rejections (shed), over the
// last 10 ticks (one second at the default tick), admitted counted as at
// least one: 1 while nothing is shed, 1.5 when the limit sheds one request
// for every two it admits (atrion.RouteSnapshot.Demand). Groups
// (atrion.WithGroups) have no instruments yet.
//
// An evicted route's data points are gone from the next collection. The
// OpenTelemetry SDK caps the attribute sets per instrument (2,000 by
// default): with more routes than that (400 for atrion.requests), raise it
// with the SDK's metric.WithCardinalityLimit.
package atrotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/series"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the meter: this module's
// import path.
const ScopeName = "github.com/atrion-go/atrion/observability/otel"

// reservedPrefix starts the keys of this package's own attributes.
const reservedPrefix = "atrion."

// family is a labelled instrument with its label values as attributes.
type family struct {
	values []attribute.KeyValue
}

func newFamily(key string, values []string) family {
	f := family{values: make([]attribute.KeyValue, len(values))}
	for i, v := range values {
		f.values[i] = attribute.String(key, v)
	}
	return f
}

// metrics observes one engine.
type metrics struct {
	a     *atrion.Atrion
	attrs []attribute.KeyValue

	gauges                        []metric.Float64ObservableGauge // series.RouteGauges, in order
	pressure                      metric.Float64ObservableGauge
	mode                          metric.Int64ObservableGauge
	requests, outcomes, transits  metric.Int64ObservableCounter
	stats                         []metric.Int64Observable // series.Stats, in order
	pressureF, modeF              family
	requestsF, outcomesF, modeKVs family

	mu  sync.Mutex // serialises callbacks: buf is scratch space, routes the cache
	buf []attribute.KeyValue
	// routes caches each route's attribute sets, built on its first
	// collection: a collection builds none for a route it has seen. A
	// route not seen in a collection leaves the cache.
	routes map[string]*routeSets
	gen    uint64                   // collections so far
	engine metric.MeasurementOption // the engine's own counters' attributes
}

// routeSets are one route's measurement options, one per data point.
type routeSets struct {
	seen               uint64 // the last collection that saw the route
	route              metric.MeasurementOption
	pressure, mode     []metric.MeasurementOption
	requests, outcomes []metric.MeasurementOption
	transitions        map[[2]atrion.Mode]metric.MeasurementOption // pairs that happened
	routeKV            attribute.KeyValue
}

// RegisterMetrics creates the instruments on the configured MeterProvider
// (default: the global one) and registers a callback that reads a's routes
// whenever a reader collects. Unregister the returned registration to stop.
// It fails on a nil engine, on an attribute from WithAttributes that is
// invalid or uses the reserved prefix "atrion.", and when the provider
// refuses an instrument.
func RegisterMetrics(a *atrion.Atrion, opts ...Option) (metric.Registration, error) {
	if a == nil {
		return nil, errors.New("atrotel: RegisterMetrics: nil *atrion.Atrion")
	}
	cfg := newConfig(opts)
	for _, kv := range cfg.attrs {
		if !kv.Valid() || strings.HasPrefix(string(kv.Key), reservedPrefix) {
			return nil, fmt.Errorf("atrotel: WithAttributes: %q: want a valid attribute whose key does not start with %q", kv.Key, reservedPrefix)
		}
	}
	meter := cfg.mp.Meter(ScopeName)
	m := &metrics{a: a, attrs: cfg.attrs}
	var errs []error
	var all []metric.Observable
	keep := func(inst metric.Observable, err error) {
		errs = append(errs, err)
		all = append(all, inst)
	}
	fgauge := func(name, unit, help string) metric.Float64ObservableGauge {
		g, err := meter.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(help))
		keep(g, err)
		return g
	}
	counter := func(name, unit, help string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(help))
		keep(c, err)
		return c
	}
	for _, g := range series.RouteGauges {
		m.gauges = append(m.gauges, fgauge(g.OTel, g.Unit, g.Help))
	}
	p, md := series.Pressure, series.Mode
	m.pressure = fgauge(p.OTel, p.Unit, p.Help)
	m.pressureF = newFamily(p.Attr, p.Values)
	mg, err := meter.Int64ObservableGauge(md.OTel, metric.WithUnit(md.Unit), metric.WithDescription(md.Help))
	keep(mg, err)
	m.mode, m.modeF = mg, newFamily(md.Attr, md.Values)
	rq, oc, tr := series.Requests, series.Outcomes, series.Transitions
	m.requests, m.requestsF = counter(rq.OTel, rq.Unit, rq.Help), newFamily(rq.Attr, rq.Values)
	m.outcomes, m.outcomesF = counter(oc.OTel, oc.Unit, oc.Help), newFamily(oc.Attr, oc.Values)
	m.transits = counter(tr.OTel, tr.Unit, tr.Help)
	m.modeKVs = newFamily(tr.FromAttr, series.Modes) // from; to is built from it
	for _, s := range series.Stats {
		if s.Counter {
			m.stats = append(m.stats, counter(s.OTel, s.Unit, s.Help))
			continue
		}
		u, err := meter.Int64ObservableUpDownCounter(s.OTel, metric.WithUnit(s.Unit), metric.WithDescription(s.Help))
		keep(u, err)
		m.stats = append(m.stats, u)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return meter.RegisterCallback(m.observe, all...)
}

// with returns the measurement option for the configured attributes plus
// kv. Caller holds mu.
func (m *metrics) with(kv ...attribute.KeyValue) metric.MeasurementOption {
	m.buf = append(append(m.buf[:0], m.attrs...), kv...)
	return metric.WithAttributeSet(attribute.NewSet(m.buf...))
}

// sets returns route's cached measurement options, building them on the
// route's first collection. Caller holds mu.
func (m *metrics) sets(route string) *routeSets {
	if rs := m.routes[route]; rs != nil {
		rs.seen = m.gen
		return rs
	}
	kv := attribute.String(series.RouteAttr, route)
	each := func(f family) []metric.MeasurementOption {
		out := make([]metric.MeasurementOption, len(f.values))
		for i, v := range f.values {
			out[i] = m.with(kv, v)
		}
		return out
	}
	rs := &routeSets{seen: m.gen, route: m.with(kv), routeKV: kv, pressure: each(m.pressureF), mode: each(m.modeF),
		requests: each(m.requestsF), outcomes: each(m.outcomesF)}
	m.routes[route] = rs
	return rs
}

// transition returns the measurement option of the route's from → to
// transitions. Caller holds mu.
func (m *metrics) transition(rs *routeSets, from, to atrion.Mode) metric.MeasurementOption {
	k := [2]atrion.Mode{from, to}
	if at, ok := rs.transitions[k]; ok {
		return at
	}
	if rs.transitions == nil {
		rs.transitions = make(map[[2]atrion.Mode]metric.MeasurementOption)
	}
	at := m.with(rs.routeKV, m.modeKVs.values[from], attribute.String(series.Transitions.ToAttr, to.String()))
	rs.transitions[k] = at
	return at
}

// observe is the callback: it reads every route and the engine's counters.
func (m *metrics) observe(_ context.Context, o metric.Observer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.routes == nil {
		m.routes = make(map[string]*routeSets)
	}
	m.gen++
	snaps := series.Snapshots(m.a)
	for i := range snaps {
		s := &snaps[i]
		rs := m.sets(s.Route)
		for j, g := range series.RouteGauges {
			o.ObserveFloat64(m.gauges[j], g.Value(s), rs.route)
		}
		for j, at := range rs.pressure {
			o.ObserveFloat64(m.pressure, series.Pressure.Value(s, j), at)
		}
		for j, at := range rs.mode {
			o.ObserveInt64(m.mode, int64(series.Mode.Value(s, j)), at)
		}
		for j, at := range rs.requests {
			o.ObserveInt64(m.requests, int64(series.Requests.Value(&s.Totals, j)), at)
		}
		for j, at := range rs.outcomes {
			o.ObserveInt64(m.outcomes, int64(series.Outcomes.Value(&s.Totals, j)), at)
		}
		series.EachTransition(s, func(from, to atrion.Mode, n uint64) {
			o.ObserveInt64(m.transits, int64(n), m.transition(rs, from, to))
		})
	}
	for id, rs := range m.routes { // evicted routes leave the cache
		if rs.seen != m.gen {
			delete(m.routes, id)
		}
	}
	st := m.a.Stats()
	if m.engine == nil {
		m.engine = m.with()
	}
	for j, s := range series.Stats {
		o.ObserveInt64(m.stats[j], int64(s.Value(&st)), m.engine)
	}
	return nil
}
