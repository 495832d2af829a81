package atrion_test

import (
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// A caller that gives up before the latency baseline says nothing about
// the route; one that waited past it is a slow sample, not a failure.
func TestCanceledQuickIsIgnoredSlowIsASample(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}))
	const route = "GET /dep"
	quick, _ := a.Admit(route, atrion.PriorityNormal)
	slow, _ := a.Admit(route, atrion.PriorityNormal)
	clk.Advance(30 * time.Millisecond)
	quick.Done(atrion.Canceled)
	clk.Advance(270 * time.Millisecond) // slow waited 300 ms, 3× the baseline
	slow.Done(atrion.Canceled)
	clk.Advance(100 * time.Millisecond) // close the tick it landed in
	s, _ := a.Snapshot(route)
	if s.Totals.Ignored != 1 || s.Totals.Slow != 1 || s.Totals.Failures != 0 || s.Totals.Successes != 0 {
		t.Fatalf("totals %+v: want 1 ignored (quick), 1 slow, no failure", s.Totals)
	}
	if s.Pressure[atrion.PressureLatency] <= 0.5 {
		t.Fatalf("a 300 ms slow sample against a 100 ms baseline: latency pressure %.2f, want > 0.5", s.Pressure[atrion.PressureLatency])
	}
	if s.Pressure[atrion.PressureError] != 0 {
		t.Fatalf("slow samples are no error evidence: error pressure %.2f, want 0", s.Pressure[atrion.PressureError])
	}
}

// On a busy route only one request in 32 is timed; the others still tell
// a cancellation how long their caller waited, from the coarse clock.
func TestCanceledUntimedIsClassified(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}))
	const route = "GET /busy"
	// a busy tick with 300 calls in flight at once: the next ones time
	// one request in 32
	var warm []atrion.Ticket
	for range 400 {
		tk, _ := a.Admit(route, atrion.PriorityNormal)
		warm = append(warm, tk)
	}
	for _, tk := range warm {
		tk.Done(atrion.Success)
	}
	clk.Advance(100 * time.Millisecond)
	a.Snapshot(route)
	before, _ := a.Snapshot(route)
	var tks []atrion.Ticket
	for range 300 {
		tk, d := a.Admit(route, atrion.PriorityNormal)
		if !d.Allowed {
			t.Fatal("rejected on a healthy route")
		}
		tks = append(tks, tk)
	}
	clk.Advance(250 * time.Millisecond)
	for _, tk := range tks[:200] {
		tk.Done(atrion.Canceled)
	}
	s, _ := a.Snapshot(route)
	if got := s.Totals.Slow - before.Totals.Slow; got != 200 {
		t.Fatalf("%d slow samples, want 200 (every caller waited 250 ms)", got)
	}
}
