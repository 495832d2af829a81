package atrion

import (
	"math"
	"testing"
)

// A big group's recompute is spread over reports, each visiting at most
// groupPassVisits members, and ends with what one full pass finds: the
// least excess of any active member, taken out of every member's latency,
// the slow one's included (no member answers for the others' queue).
func TestGroupPassIsBounded(t *testing.T) {
	const n = 10 * groupPassVisits
	g := &group{}
	routes := make([]*route, n)
	const tick = int64(1e8)
	at := int64(1e9)
	for i := range routes {
		routes[i] = &route{gi: -1}
		// no-load 10 ms; latency 15 ms (5 ms of shared queueing) but for
		// one member that takes 90 ms on its own
		lat := 15.0
		if i == n/2 {
			lat = 95
		}
		g.report(routes[i], memberStats{at: at, latencyMs: lat, floorMs: 10, inflight: 2}, 0.1)
	}
	// a new pass starts a tick later; count the reports that finish it
	at += tick
	reports := 0
	for g.pass.phase != 0 || reports == 0 {
		r := routes[reports%n]
		g.report(r, memberStats{at: at, latencyMs: 15, floorMs: 10, inflight: 2}, 0.1)
		reports++
		if g.pass.phase != 0 && g.pass.i > groupPassVisits && reports == 1 {
			t.Fatalf("one report visited %d members, want at most %d", g.pass.i, groupPassVisits)
		}
		if reports > 4*n/groupPassVisits {
			t.Fatalf("the pass has not ended after %d reports", reports)
		}
	}
	if min := n / groupPassVisits; reports < min { // one phase: every member visited once
		t.Fatalf("the pass took %d reports, want at least %d for %d members", reports, min, n)
	}
	if q, _, _ := g.report(routes[n/2], memberStats{at: at, latencyMs: 95, floorMs: 10, inflight: 2}, 0.1); math.Abs(q-5) > 0.05 {
		t.Fatalf("the slow member gets %.2f ms of shared queueing taken out, want 5", q)
	}
	if math.Abs(g.rel-0.5) > 0.01 {
		t.Fatalf("shared queueing %.3f of the fastest no-load latency, want 0.5", g.rel)
	}
}

// A small group's pass ends in the report that starts it.
func TestGroupPassSmallInOneReport(t *testing.T) {
	g := &group{}
	a, b := &route{gi: -1}, &route{gi: -1}
	g.report(a, memberStats{at: 1e9, latencyMs: 15, floorMs: 10, inflight: 2}, 0.1)
	g.report(b, memberStats{at: 1e9, latencyMs: 40, floorMs: 10, inflight: 2}, 0.1)
	q, _, _ := g.report(a, memberStats{at: 1e9 + 1e8, latencyMs: 15, floorMs: 10, inflight: 2}, 0.1)
	if g.pass.phase != 0 || q < 4.9 {
		t.Fatalf("pass %+v, q %.2f: want the pass ended, a's 5 ms taken out", g.pass, q)
	}
}
