package atrprom_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/observability/internal/obstest"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// rig is an obstest.Rig with its collector.
type rig struct {
	*obstest.Rig
	c prometheus.Collector
}

func newRig(t *testing.T, opts ...atrion.Option) *rig {
	r := obstest.New(t, opts...)
	return &rig{Rig: r, c: atrprom.NewCollector(r.A)}
}

// expected renders the text exposition of the requests and outcomes series
// of one route from the test's own tally.
func expected(tl *obstest.Tally, route string) string {
	var b strings.Builder
	b.WriteString("# HELP atrion_requests_total Admission decisions on the route: admitted, or rejected by reason.\n# TYPE atrion_requests_total counter\n")
	for _, d := range []string{"admitted", "circuit_open", "deadline", "key_share", "recovering", "shed", "voltage"} {
		fmt.Fprintf(&b, "atrion_requests_total{decision=%q,route=%q} %d\n", d, route, tl.Decisions[d])
	}
	b.WriteString("# HELP atrion_request_outcomes_total Outcomes of the route's admitted requests: success, failure, or ignored (says nothing about health).\n# TYPE atrion_request_outcomes_total counter\n")
	for _, o := range []string{"failure", "ignored", "success"} {
		fmt.Fprintf(&b, "atrion_request_outcomes_total{outcome=%q,route=%q} %d\n", o, route, tl.Outcomes[o])
	}
	return b.String()
}

// TestCollectAndCompare trips a route and heals it, and compares the
// counters, the mode and the transitions with what the test saw.
func TestCollectAndCompare(t *testing.T) {
	r := newRig(t)
	const route = "GET /payments/:id"
	tl := r.Exercise(t, route)

	want := expected(tl, route) + fmt.Sprintf(`# HELP atrion_route_mode Mode of the route: 1 for the current mode, 0 for the others.
# TYPE atrion_route_mode gauge
atrion_route_mode{mode="BOOTSTRAP",route=%[1]q} 0
atrion_route_mode{mode="CIRCUIT_OPEN",route=%[1]q} 0
atrion_route_mode{mode="OPERATIONAL",route=%[1]q} 1
atrion_route_mode{mode="RECOVERING",route=%[1]q} 0
# HELP atrion_mode_transitions_total Mode transitions of the route, by the mode left and the mode entered.
# TYPE atrion_mode_transitions_total counter
atrion_mode_transitions_total{from="CIRCUIT_OPEN",route=%[1]q,to="RECOVERING"} 1
atrion_mode_transitions_total{from="OPERATIONAL",route=%[1]q,to="CIRCUIT_OPEN"} 1
atrion_mode_transitions_total{from="RECOVERING",route=%[1]q,to="OPERATIONAL"} 1
# HELP atrion_route_break_point_ohms Resistance at which the route's circuit opens (static or learned by the AutoTuner).
# TYPE atrion_route_break_point_ohms gauge
atrion_route_break_point_ohms{route=%[1]q} 100
`, route)
	names := []string{"atrion_requests_total", "atrion_request_outcomes_total", "atrion_route_mode",
		"atrion_mode_transitions_total", "atrion_route_break_point_ohms"}
	if err := testutil.CollectAndCompare(r.c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// The overflow route, which every engine has, is published only once a
// request has fallen into it.
func TestIdleOverflowRouteIsNotPublished(t *testing.T) {
	r := newRig(t)
	atriontest.Send(r.A, "GET /a", 1, atrion.Success)
	routes := func() []string {
		var out []string
		for _, m := range gather(t, r.c, "atrion_route_resistance_ohms") {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					out = append(out, l.GetValue())
				}
			}
		}
		return out
	}
	if got := routes(); len(got) != 1 || got[0] != "GET /a" {
		t.Fatalf("routes published: %q, want only GET /a", got)
	}
	atriontest.Send(r.A, "", 1, atrion.Success) // an invalid ID falls into the overflow route
	if got := routes(); len(got) != 2 || got[1] != atrion.OverflowRoute {
		t.Fatalf("routes published after an overflow hit: %q, want GET /a and %s", got, atrion.OverflowRoute)
	}
}

// gather collects c and returns the series of the family name.
func gather(t *testing.T, c prometheus.Collector, name string) []*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// WithFamilies publishes only the named per-route families, and always the
// engine's own series; an unknown name fails the registration.
func TestWithFamilies(t *testing.T) {
	r := newRig(t)
	r.TripAndHeal(t, "GET /a", obstest.NewTally())
	count := func(opts ...atrprom.Option) (perRoute, engine int) {
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(atrprom.NewCollector(r.A, opts...)); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if len(m.GetLabel()) > 0 {
					perRoute++
				} else {
					engine++
				}
			}
		}
		return perRoute, engine
	}
	all, engine := count()
	alert, engineA := count(atrprom.WithFamilies(atrprom.AlertFamilies...))
	none, engineN := count(atrprom.WithFamilies())
	mode, _ := count(atrprom.WithFamilies("atrion_route_mode"))
	capacity, _ := count(atrprom.WithFamilies(atrprom.CapacityFamilies...))
	if all < 27 || alert >= all || alert < 18 || none != 0 || mode != 4 || capacity != 4 {
		t.Errorf("per-route series for one route: all %d, alert families %d, none %d, mode only %d, capacity %d", all, alert, none, mode, capacity)
	}
	if engine == 0 || engineA != engine || engineN != engine {
		t.Errorf("engine series: %d, %d, %d; want the same, always", engine, engineA, engineN)
	}
	if err := prometheus.NewRegistry().Register(atrprom.NewCollector(r.A, atrprom.WithFamilies("atrion_route_nope"))); err == nil ||
		!strings.Contains(err.Error(), "atrion_route_nope") {
		t.Errorf("an unknown family registered: %v", err)
	}
}

// TestLint checks every series name, help and type with promlint, on an
// engine whose routes have data in every series.
func TestLint(t *testing.T) {
	r := newRig(t)
	r.TripAndHeal(t, "GET /a", obstest.NewTally())
	problems, err := testutil.CollectAndLint(r.c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for _, name := range []string{"atrion_route_resistance_ohms", "atrion_route_scar_tissue", "atrion_route_momentum",
		"atrion_route_pressure", "atrion_route_recovery_point_ohms", "atrion_route_tuner_mean_ohms",
		"atrion_route_tuner_deviation_ohms", "atrion_route_latency_baseline_seconds", "atrion_routes",
		"atrion_overflow_hits_total", "atrion_route_evictions_total", "atrion_route_in_flight", "atrion_route_in_flight_limit",
		"atrion_route_no_load_latency_seconds", "atrion_route_demand"} {
		if testutil.CollectAndCount(r.c, name) == 0 {
			t.Errorf("no %s series", name)
		}
	}
}

// TestEvictedRouteDisappears checks that every series of an evicted route
// is gone at the next scrape, and that the other
// routes' series stay.
func TestEvictedRouteDisappears(t *testing.T) {
	r := newRig(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.c)
	r.TripAndHeal(t, "GET /gone", obstest.NewTally())
	r.Send("GET /kept", atrion.Success, obstest.NewTally())
	// 8 gauges, 3 pressure, 4 mode, 7 decision, 3 outcome and 3 transition series
	if n := seriesOf(t, reg, "GET /gone"); n != 32 {
		t.Fatalf("GET /gone has %d series before eviction, want 32", n)
	}
	kept := seriesOf(t, reg, "GET /kept")
	if !r.A.Evict("GET /gone") {
		t.Fatal("Evict: route not tracked")
	}
	if n := seriesOf(t, reg, "GET /gone"); n != 0 {
		t.Errorf("GET /gone has %d series after eviction, want 0", n)
	}
	if n := seriesOf(t, reg, "GET /kept"); n != kept {
		t.Errorf("GET /kept has %d series after another route's eviction, want %d", n, kept)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP atrion_route_evictions_total Routes evicted: idle routes dropped to make room, and explicit evictions.
# TYPE atrion_route_evictions_total counter
atrion_route_evictions_total 1
`), "atrion_route_evictions_total"); err != nil {
		t.Error(err)
	}
}

// seriesOf counts the gathered series whose route label is route.
func seriesOf(t *testing.T, g prometheus.Gatherer, route string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && lp.GetValue() == route {
					n++
				}
			}
		}
	}
	return n
}

// TestRegisterErrors checks that a nil engine and bad constant labels make
// the registration fail with an error instead of failing scrapes.
func TestRegisterErrors(t *testing.T) {
	a := atriontest.NewEngine(t)
	cases := map[string]prometheus.Collector{
		"nil engine":          atrprom.NewCollector(nil),
		"label route":         atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"route": "x"})),
		"label mode":          atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"mode": "x"})),
		"reserved label name": atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"__name": "x"})),
		"invalid value":       atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"engine": "\xff"})),
	}
	for name, c := range cases {
		if err := prometheus.NewPedanticRegistry().Register(c); err == nil {
			t.Errorf("%s: Register succeeded, want an error", name)
		}
	}
	ok := atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"engine": "api"}))
	if err := prometheus.NewPedanticRegistry().Register(ok); err != nil {
		t.Errorf("valid const label: %v", err)
	}
	if problems, err := testutil.CollectAndLint(ok); err != nil || len(problems) > 0 {
		t.Errorf("with a const label: %v %v", err, problems)
	}
}

// TestOddRouteIDs checks that route IDs that are not valid UTF-8, or that
// are at the length limit or beyond it, never fail a scrape.
func TestOddRouteIDs(t *testing.T) {
	r := newRig(t)
	long := strings.Repeat("x", atrion.MaxRouteIDLen)
	for _, id := range []string{"GET /\xff\xfe", "GET /\xfd", "GET /\uFFFD", long, long + "y", ""} {
		atriontest.Send(r.A, id, 1, atrion.Success)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.c)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if n := seriesOf(t, reg, "GET /\uFFFD"); n == 0 {
		t.Error("no series for the sanitized route")
	}
	if n := seriesOf(t, reg, long); n == 0 {
		t.Error("no series for the longest valid route ID")
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP atrion_invalid_route_ids_total Empty or over-long route IDs (counted in the overflow hits too).
# TYPE atrion_invalid_route_ids_total counter
atrion_invalid_route_ids_total 2
`), "atrion_invalid_route_ids_total"); err != nil {
		t.Error(err)
	}
}

// TestScrapeOverHTTP serves the collector with promhttp on loopback while
// traffic runs, as a deployment would, with the race detector watching.
func TestScrapeOverHTTP(t *testing.T) {
	a := atriontest.NewEngine(t, atrion.WithTick(time.Millisecond))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(atrprom.NewCollector(a))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; i < 100_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				atriontest.Send(a, fmt.Sprintf("GET /r%d", (g*7+i)%20), 1, atrion.Success)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for range 5 {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "atrion_route_resistance_ohms{") {
			t.Fatalf("status %d, body:\n%.500s", resp.StatusCode, body)
		}
	}
}

// TestHotPathUntouched pins that a registered, scraped collector leaves
// Admit + Done allocation-free.
func TestHotPathUntouched(t *testing.T) {
	r := newRig(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.c)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if allocs := r.HotPathAllocs(); allocs != 0 {
		t.Errorf("Admit+Done allocates %.2f times with a collector attached", allocs)
	}
}

// TestCollectSendsSorted checks that Collect sends each family's series in
// the order the registry sorts them to (by label values, labels by name),
// the order that keeps the registry's sort cheap.
func TestCollectSendsSorted(t *testing.T) {
	r := newRig(t)
	r.Exercise(t, "GET /b")
	for _, id := range []string{"GET /c", "GET /a", "POST /a", "GET /\xff"} {
		r.Send(id, atrion.Success, obstest.NewTally())
	}
	ch := make(chan prometheus.Metric)
	go func() {
		r.c.Collect(ch)
		close(ch)
	}()
	last := map[string]string{} // family → label values of its last series
	n := 0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		var vals []string
		for _, lp := range pb.GetLabel() { // sorted by label name
			vals = append(vals, lp.GetValue())
		}
		key := strings.Join(vals, "\x00")
		fam := m.Desc().String()
		if prev, ok := last[fam]; ok && prev >= key {
			t.Errorf("%s: %q sent after %q", fam, vals, strings.Split(prev, "\x00"))
		}
		last[fam] = key
		n++
	}
	if n < 5*23 {
		t.Errorf("%d series, want at least %d", n, 5*23)
	}
}

// TestCapacityGauges overloads a worker pool on a real registry: the
// gauges read the calls the test holds in flight, the limit in force, the
// service time the test gave each call as the no-load latency, and a
// demand near the five times its capacity offered; once the overload
// ends, demand is back to 1 and nothing is in flight.
func TestCapacityGauges(t *testing.T) {
	r := newRig(t)
	const route = "GET /feed"
	load := r.Overload(t, route)
	defer load.Release()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(atrprom.NewCollector(r.A, atrprom.WithFamilies(atrprom.CapacityFamilies...)))
	read := func() map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "route" && l.GetValue() == route {
						got[mf.GetName()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		return got
	}
	got := read()
	s, _ := r.A.Snapshot(route)
	t.Logf("after 5 s at 5× capacity: %v (admitted %d, shed %d, held %d)", got, load.Admitted, load.Shed, len(load.Held))
	if v := got["atrion_route_in_flight"]; v != float64(len(load.Held)) {
		t.Errorf("in flight %v, want the %d calls the test holds", v, len(load.Held))
	}
	if v := got["atrion_route_in_flight_limit"]; v != s.Limit || v < float64(len(load.Held))/2 {
		t.Errorf("in-flight limit %v, want the engine's %v, near the calls held (%d)", v, s.Limit, len(load.Held))
	}
	if v := got["atrion_route_no_load_latency_seconds"]; v < load.Service.Seconds() || v > 1.5*load.Service.Seconds() {
		t.Errorf("no-load latency %vs, want about the service time %v", v, load.Service)
	}
	if v := got["atrion_route_demand"]; v != s.Demand || v < 4 || v > 6 {
		t.Errorf("demand %v, want the engine's %v, about 5 (the overload offered)", v, s.Demand)
	}
	load.Release()
	atriontest.Send(r.A, route, 1, atrion.Success)
	r.Clk.Advance(2 * time.Second)
	got = read()
	if got["atrion_route_demand"] != 1 || got["atrion_route_in_flight"] != 0 {
		t.Errorf("2 s after the overload: %v, want demand 1 and nothing in flight", got)
	}
}
