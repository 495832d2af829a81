package series

import (
	"fmt"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// TestNamesUnique checks that no two series share a name in either
// convention and that every name follows its convention.
func TestNamesUnique(t *testing.T) {
	type named struct{ prom, otel string }
	var all []named
	for _, g := range RouteGauges {
		all = append(all, named{g.Prom, g.OTel})
	}
	for _, g := range []GaugeFamily{Pressure, Mode} {
		all = append(all, named{g.Prom, g.OTel})
	}
	for _, c := range []CounterFamily{Requests, Outcomes} {
		all = append(all, named{c.Prom, c.OTel})
	}
	all = append(all, named{Transitions.Prom, Transitions.OTel})
	for _, s := range Stats {
		all = append(all, named{s.Prom, s.OTel})
	}
	prom, otel := map[string]bool{}, map[string]bool{}
	for _, n := range all {
		if prom[n.prom] || otel[n.otel] {
			t.Errorf("duplicate name %q / %q", n.prom, n.otel)
		}
		prom[n.prom], otel[n.otel] = true, true
		if !strings.HasPrefix(n.prom, "atrion_") || strings.ContainsAny(n.prom, ".-") {
			t.Errorf("Prometheus name %q: want atrion_ and underscores", n.prom)
		}
		if !strings.HasPrefix(n.otel, "atrion.") || n.otel != strings.ToLower(n.otel) || strings.HasSuffix(n.otel, "_total") {
			t.Errorf("OpenTelemetry name %q: want dotted lowercase under atrion., no _total", n.otel)
		}
	}
}

// TestOTelConventions checks what OpenTelemetry's semantic conventions ask
// of names and units: a count of things an up-down counter holds is named
// "<namespace>.count" (not a plural), and a dimensionless score has unit
// "1" (resistance is not measured in ohms, whatever its Prometheus name).
func TestOTelConventions(t *testing.T) {
	for _, s := range Stats {
		if !s.Counter && strings.HasPrefix(s.Unit, "{") && !strings.HasSuffix(s.OTel, ".count") {
			t.Errorf("%s counts %s at a time: want a name ending in .count", s.OTel, s.Unit)
		}
	}
	units := []string{Pressure.Unit, Mode.Unit}
	for _, g := range RouteGauges {
		units = append(units, g.Unit)
		if strings.HasSuffix(g.Prom, "_ohms") && g.Unit != "1" {
			t.Errorf("%s: unit %q, want 1 (a dimensionless score)", g.OTel, g.Unit)
		}
	}
	for _, u := range units {
		if strings.Contains(strings.ToLower(u), "ohm") {
			t.Errorf("unit %q: resistance is dimensionless", u)
		}
	}
}

func TestFamilyValues(t *testing.T) {
	if got := strings.Join(Modes, ","); got != "BOOTSTRAP,OPERATIONAL,RECOVERING,CIRCUIT_OPEN" {
		t.Errorf("modes = %s", got)
	}
	if got := strings.Join(Requests.Values, ","); got != "admitted,circuit_open,shed,recovering,voltage,key_share,deadline" {
		t.Errorf("decisions = %s", got)
	}
	tot := atrion.Totals{Admitted: 7, Successes: 4, Failures: 2, Ignored: 1}
	tot.Rejected.Shed = 3
	tot.Rejected.KeyShare = 5
	tot.Rejected.Deadline = 6
	want := map[string]uint64{"admitted": 7, "shed": 3, "circuit_open": 0, "key_share": 5, "deadline": 6}
	for i, v := range Requests.Values {
		if w, ok := want[v]; ok && Requests.Value(&tot, i) != w {
			t.Errorf("requests %s = %d, want %d", v, Requests.Value(&tot, i), w)
		}
	}
	for i, w := range []uint64{4, 2, 1} {
		if got := Outcomes.Value(&tot, i); got != w {
			t.Errorf("outcome %s = %d, want %d", Outcomes.Values[i], got, w)
		}
	}
	s := atrion.RouteSnapshot{Mode: atrion.ModeRecovering}
	for i, m := range Modes {
		want := 0.0
		if m == "RECOVERING" {
			want = 1
		}
		if got := Mode.Value(&s, i); got != want {
			t.Errorf("mode %s = %v, want %v", m, got, want)
		}
	}
}

func TestEachTransition(t *testing.T) {
	var s atrion.RouteSnapshot
	s.TransitionsByMode[atrion.ModeOperational][atrion.ModeCircuitOpen] = 2
	s.TransitionsByMode[atrion.ModeCircuitOpen][atrion.ModeRecovering] = 1
	var got []string
	EachTransition(&s, func(from, to atrion.Mode, n uint64) {
		got = append(got, fmt.Sprintf("%s>%s=%d", from, to, n))
	})
	if want := "OPERATIONAL>CIRCUIT_OPEN=2 CIRCUIT_OPEN>RECOVERING=1"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// TestSanitize checks that route IDs that are not valid UTF-8 become valid
// label values and that one colliding with another route is left out.
func TestSanitize(t *testing.T) {
	snaps := []atrion.RouteSnapshot{{Route: "GET /a"}, {Route: "GET /\xff"}, {Route: "GET /\xfe"}, {Route: "ok"}}
	got := sanitize(snaps)
	var names []string
	for _, s := range got {
		names = append(names, s.Route)
	}
	if want := "GET /a|GET /\uFFFD|ok"; strings.Join(names, "|") != want {
		t.Errorf("routes = %q, want %q", strings.Join(names, "|"), want)
	}
	valid := []atrion.RouteSnapshot{{Route: "a"}, {Route: "b"}}
	if got := sanitize(valid); len(got) != 2 || &got[0] != &valid[0] {
		t.Error("valid routes: want the same slice back")
	}
	if n := testing.AllocsPerRun(100, func() { RouteLabelValue("GET /users/:id") }); n != 0 {
		t.Errorf("RouteLabelValue of a valid ID allocates %v times", n)
	}
}

// CapacityGauges are the four capacity gauges, in the order the docs list
// them (a gauge added to RouteGauges after them would shift the slice).
func TestCapacityGauges(t *testing.T) {
	var got []string
	for _, g := range CapacityGauges {
		got = append(got, g.Prom)
	}
	want := "atrion_route_in_flight atrion_route_in_flight_limit atrion_route_no_load_latency_seconds atrion_route_demand"
	if strings.Join(got, " ") != want {
		t.Errorf("capacity gauges %q, want %q", strings.Join(got, " "), want)
	}
	s := atrion.RouteSnapshot{InFlight: 3, Limit: 12.5, LatencyFloor: 20 * time.Millisecond, Demand: 1.5}
	for i, w := range []float64{3, 12.5, 0.02, 1.5} {
		if v := CapacityGauges[i].Value(&s); v != w {
			t.Errorf("%s = %v, want %v", CapacityGauges[i].Prom, v, w)
		}
	}
}
