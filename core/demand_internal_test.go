package atrion

import (
	"math"
	"testing"
)

func TestDemandWindow(t *testing.T) {
	var never *demandWindow // a route that never shed has none
	if d := never.demand(); d != 1 {
		t.Errorf("no window: demand %v, want 1", d)
	}
	var w demandWindow
	if d := w.demand(); d != 1 {
		t.Errorf("empty window: demand %v, want 1", d)
	}
	for range 25 { // 50 admitted and 25 shed per tick
		w.add(50, 25, 1)
	}
	if d := w.demand(); d != 1.5 {
		t.Errorf("steady 50 admitted, 25 shed per tick: demand %v, want 1.5", d)
	}
	for range demandTicks / 2 { // half the window without shedding
		w.add(50, 0, 1)
	}
	if d := w.demand(); math.Abs(d-1.25) > 1e-12 {
		t.Errorf("half the window shedding: demand %v, want 1.25", d)
	}
	w.add(0, 0, demandTicks/2) // a silent gap leaves the newest half
	if d := w.demand(); d != 1 {
		t.Errorf("after the gap: demand %v, want 1", d)
	}
	w.add(40, 40, 1)
	w.add(0, 0, 1_000_000) // a long gap empties the window, however long
	if d := w.demand(); d != 1 {
		t.Errorf("after a long gap: demand %v, want 1", d)
	}
	// everything shed: admitted counts as one request, so demand stays finite
	var all demandWindow
	all.add(0, 30, 1)
	if d := all.demand(); d != 31 {
		t.Errorf("30 shed, none admitted: demand %v, want 31", d)
	}
	// hostile counts: zero or negative ticks count as one; counts beyond
	// 32 bits saturate rather than wrap
	var odd demandWindow
	odd.add(math.MaxUint64, math.MaxUint64, 0)
	odd.add(0, 0, -5)
	if d := odd.demand(); d != 2 {
		t.Errorf("saturated counts: demand %v, want 2", d)
	}
	if odd.at != 2 {
		t.Errorf("ticks ≤ 0: %d slots used, want 2 (one each)", odd.at)
	}
}
