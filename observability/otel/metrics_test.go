package atrotel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/obstest"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// rig is an obstest.Rig with its metrics on an SDK MeterProvider read by a
// manual reader.
type rig struct {
	*obstest.Rig
	reader *sdkmetric.ManualReader
	reg    metric.Registration
}

func newRig(t *testing.T, opts ...atrotel.Option) *rig {
	t.Helper()
	r := &rig{Rig: obstest.New(t), reader: sdkmetric.NewManualReader()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	reg, err := atrotel.RegisterMetrics(r.A, append([]atrotel.Option{atrotel.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r.reg = reg
	return r
}

// point is one collected data point.
type point struct {
	value float64
	kind  string // gauge, counter (monotonic cumulative sum), updown
	unit  string
	attrs attribute.Set
}

// collect returns the data points by "name{k=v,...}" (attributes sorted),
// after checking the scope name.
func (r *rig) collect(t *testing.T) map[string]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]point{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != atrotel.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, atrotel.ScopeName)
		}
		for _, m := range sm.Metrics {
			add := func(kind string, v float64, attrs attribute.Set) {
				out[key(m.Name, attrs)] = point{value: v, kind: kind, unit: m.Unit, attrs: attrs}
			}
			switch d := m.Data.(type) {
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					add("gauge", p.Value, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add("gauge", float64(p.Value), p.Attributes)
				}
			case metricdata.Sum[int64]:
				kind := "updown"
				if d.IsMonotonic && d.Temporality == metricdata.CumulativeTemporality {
					kind = "counter"
				}
				for _, p := range d.DataPoints {
					add(kind, float64(p.Value), p.Attributes)
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func key(name string, attrs attribute.Set) string {
	var kv []string
	for _, a := range attrs.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

// TestMetrics trips a route and heals it and checks the counters, the mode
// and the transitions against what the test saw, and every instrument's
// kind and unit.
func TestMetrics(t *testing.T) {
	r := newRig(t)
	const route = "GET /payments/:id"
	tl := r.Exercise(t, route)
	got := r.collect(t)

	want := map[string]float64{}
	for _, d := range []string{"admitted", "circuit_open", "shed", "recovering", "voltage"} {
		want[fmt.Sprintf("atrion.requests{atrion.decision=%s,atrion.route=%s}", d, route)] = float64(tl.Decisions[d])
	}
	for _, o := range []string{"success", "failure", "ignored"} {
		want[fmt.Sprintf("atrion.request.outcomes{atrion.outcome=%s,atrion.route=%s}", o, route)] = float64(tl.Outcomes[o])
	}
	for _, m := range []string{"BOOTSTRAP", "OPERATIONAL", "RECOVERING", "CIRCUIT_OPEN"} {
		want[fmt.Sprintf("atrion.route.mode{atrion.mode=%s,atrion.route=%s}", m, route)] = map[bool]float64{true: 1}[m == "OPERATIONAL"]
	}
	for _, ft := range [][2]string{{"OPERATIONAL", "CIRCUIT_OPEN"}, {"CIRCUIT_OPEN", "RECOVERING"}, {"RECOVERING", "OPERATIONAL"}} {
		want[fmt.Sprintf("atrion.mode.transitions{atrion.mode.from=%s,atrion.mode.to=%s,atrion.route=%s}", ft[0], ft[1], route)] = 1
	}
	want["atrion.route.break_point{atrion.route="+route+"}"] = 100
	want["atrion.route.count{}"] = 2
	want["atrion.overflow.hits{}"] = 0
	if _, ok := got["atrion.route.resistance{atrion.route="+atrion.OverflowRoute+"}"]; ok {
		t.Error("the idle overflow route is published")
	}
	for k, v := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if p.value != v {
			t.Errorf("%s = %v, want %v", k, p.value, v)
		}
	}

	// kinds and units
	units := map[string]string{
		"atrion.route.resistance": "1", "atrion.route.scar_tissue": "1", "atrion.route.momentum": "1/s",
		"atrion.route.pressure": "1", "atrion.route.mode": "1", "atrion.route.break_point": "1",
		"atrion.route.recovery_point": "1", "atrion.route.tuner.mean": "1", "atrion.route.tuner.deviation": "1",
		"atrion.route.latency_baseline": "s", "atrion.requests": "{request}", "atrion.request.outcomes": "{request}",
		"atrion.mode.transitions": "{transition}", "atrion.route.count": "{route}", "atrion.overflow.hits": "{request}",
		"atrion.evictions": "{route}", "atrion.observer.drops": "{event}", "atrion.provider.errors": "{call}",
	}
	seen := map[string]bool{}
	for k, p := range got {
		name := k[:strings.IndexByte(k, '{')]
		seen[name] = true
		if u, ok := units[name]; ok && p.unit != u {
			t.Errorf("%s: unit %q, want %q", name, p.unit, u)
		}
		wantKind := "gauge"
		switch {
		case name == "atrion.route.count", name == "atrion.ban.count":
			wantKind = "updown"
		case name == "atrion.requests", name == "atrion.request.outcomes", name == "atrion.mode.transitions",
			!strings.HasPrefix(name, "atrion.route."):
			wantKind = "counter"
		}
		if p.kind != wantKind {
			t.Errorf("%s: %s, want %s", name, p.kind, wantKind)
		}
		if name != strings.ToLower(name) {
			t.Errorf("%s: instrument names are lowercase", name)
		}
	}
	for name := range units {
		if !seen[name] {
			t.Errorf("no %s data point", name)
		}
	}
	if p := got["atrion.route.pressure{atrion.component=error,atrion.route="+route+"}"]; p.kind == "" {
		t.Error("no error-pressure data point")
	}
}

// TestEvictedRouteDisappears checks that an evicted route's data points
// are gone from the next collection while the others stay.
func TestEvictedRouteDisappears(t *testing.T) {
	r := newRig(t)
	r.TripAndHeal(t, "GET /gone", obstest.NewTally())
	r.Send("GET /kept", atrion.Success, obstest.NewTally())
	count := func(m map[string]point, route string) (n int) {
		for _, p := range m {
			if v, ok := p.attrs.Value("atrion.route"); ok && v.AsString() == route {
				n++
			}
		}
		return n
	}
	before := r.collect(t)
	// 8 gauges, 3 pressure, 4 mode, 7 decision, 3 outcome and 3 transition points
	if n := count(before, "GET /gone"); n != 32 {
		t.Fatalf("GET /gone has %d points before eviction, want 32", n)
	}
	r.A.Evict("GET /gone")
	after := r.collect(t)
	if n := count(after, "GET /gone"); n != 0 {
		t.Errorf("GET /gone has %d points after eviction, want 0", n)
	}
	if a, b := count(after, "GET /kept"), count(before, "GET /kept"); a != b || a == 0 {
		t.Errorf("GET /kept has %d points, had %d", a, b)
	}
	if p := after["atrion.evictions{}"]; p.value != 1 {
		t.Errorf("atrion.evictions = %v, want 1", p.value)
	}
}

// TestAttributesAndUnregister checks the configured attributes on every
// point and that nothing is reported after Unregister.
func TestAttributesAndUnregister(t *testing.T) {
	r := newRig(t, atrotel.WithAttributes(attribute.String("engine", "outbound")), nil)
	r.Send("GET /a", atrion.Success, obstest.NewTally())
	got := r.collect(t)
	if len(got) == 0 {
		t.Fatal("no points")
	}
	for k, p := range got {
		if v, _ := p.attrs.Value("engine"); v.AsString() != "outbound" {
			t.Errorf("%s: no engine attribute", k)
		}
	}
	if err := r.reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := r.collect(t); len(got) != 0 {
		t.Errorf("%d points after Unregister", len(got))
	}
}

// TestBadInput checks a nil engine, reserved or invalid attributes, a nil
// MeterProvider (the global one is used) and route IDs that are not valid
// UTF-8.
func TestBadInput(t *testing.T) {
	if reg, err := atrotel.RegisterMetrics(nil); err == nil || reg != nil {
		t.Errorf("nil engine: %v, %v; want an error", reg, err)
	}
	r := newRig(t)
	for _, kv := range []attribute.KeyValue{attribute.String("atrion.route", "spoofed"), attribute.String("", "empty key")} {
		if reg, err := atrotel.RegisterMetrics(r.A, atrotel.WithAttributes(kv)); err == nil || reg != nil {
			t.Errorf("attribute %q: %v, %v; want an error", kv.Key, reg, err)
		}
	}
	reg, err := atrotel.RegisterMetrics(r.A, atrotel.WithMeterProvider(nil))
	if err != nil {
		t.Fatalf("nil MeterProvider: %v", err)
	}
	reg.Unregister()

	r.Send("GET /\xff", atrion.Success, obstest.NewTally())
	r.Send("GET /\xfe", atrion.Success, obstest.NewTally())
	got := r.collect(t)
	if _, ok := got["atrion.route.resistance{atrion.route=GET /\uFFFD}"]; !ok {
		t.Error("no point for the sanitized route")
	}
	for k := range got {
		if !utf8Valid(k) {
			t.Errorf("invalid UTF-8 in %q", k)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// TestHotPathUntouched pins that registered, collected metrics leave
// Admit + Done allocation-free.
func TestHotPathUntouched(t *testing.T) {
	r := newRig(t)
	r.collect(t)
	if allocs := r.HotPathAllocs(); allocs != 0 {
		t.Errorf("Admit+Done allocates %.2f times with metrics registered", allocs)
	}
}

// TestCapacityGauges overloads a worker pool on a real SDK reader: the
// gauges read the calls the test holds in flight, the limit in force, the
// service time as the no-load latency and a demand near the five times
// capacity offered, with the units of series.CapacityGauges.
func TestCapacityGauges(t *testing.T) {
	r := newRig(t)
	const route = "GET /feed"
	load := r.Overload(t, route)
	defer load.Release()
	pts := r.collect(t)
	s, _ := r.A.Snapshot(route)
	get := func(name, unit string) float64 {
		p, ok := pts[name+"{atrion.route="+route+"}"]
		if !ok || p.kind != "gauge" || p.unit != unit {
			t.Errorf("%s: %+v, %v; want a gauge in %s", name, p, ok, unit)
		}
		return p.value
	}
	if v := get("atrion.route.in_flight", "{request}"); v != float64(len(load.Held)) {
		t.Errorf("in flight %v, want the %d calls the test holds", v, len(load.Held))
	}
	if v := get("atrion.route.in_flight_limit", "{request}"); v != s.Limit || v <= 0 {
		t.Errorf("in-flight limit %v, want the engine's %v", v, s.Limit)
	}
	if v := get("atrion.route.no_load_latency", "s"); v < load.Service.Seconds() || v > 1.5*load.Service.Seconds() {
		t.Errorf("no-load latency %vs, want about the service time %v", v, load.Service)
	}
	if v := get("atrion.route.demand", "1"); v != s.Demand || v < 4 || v > 6 {
		t.Errorf("demand %v, want the engine's %v, about 5", v, s.Demand)
	}
}
