package atrion_test

import (
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// failuresToOpen runs a route at perSec calls a second, healthy for
// healthy, then failing every call, and returns how many failed calls it
// took before the circuit opened (0: it never did within limit calls).
func failuresToOpen(t *testing.T, perSec int, healthy time.Duration, limit int, opts ...atrion.Option) int {
	t.Helper()
	a, clk := atriontest.New(t, opts...)
	gap := time.Second / time.Duration(perSec)
	const route = "GET /quiet"
	call := func(c atrion.Class) bool {
		tk, d := a.Admit(route, atrion.PriorityNormal)
		if !d.Allowed {
			return false
		}
		clk.Advance(20 * time.Millisecond)
		tk.Done(c)
		clk.Advance(gap - 20*time.Millisecond)
		return true
	}
	for range int(healthy / gap) {
		call(atrion.Success)
	}
	for n := 1; n <= limit; n++ {
		call(atrion.Failure)
		clk.Advance(time.Millisecond)
		if s, _ := a.Snapshot(route); s.Mode == atrion.ModeCircuitOpen {
			return n
		}
	}
	return 0
}

// A route at 10 calls/s whose every call fails opens within 6–10 calls
// (gobreaker's default trips after 6), once its AutoTuner has learned a
// break point that R reaches early: R past the break on a run of failures
// is clear evidence; the short window's failure share, which the route's
// healthy second still dilutes, need not reach 80 % first.
func TestLowVolumeOpensWithinTenCalls(t *testing.T) {
	for _, perSec := range []int{5, 10, 20} {
		n := failuresToOpen(t, perSec, 20*time.Second, 40)
		if n == 0 || n > 10 {
			t.Errorf("%d calls/s, every call failing: opened after %d failures (0: not within 40), want ≤ 10", perSec, n)
		}
	}
}

// Isolated failures on a quiet route never open it, however long the run:
// a run of failures is evidence only while nothing succeeds in between.
func TestLowVolumeIsolatedFailuresDoNotOpen(t *testing.T) {
	a, clk := atriontest.New(t)
	const route = "GET /quiet"
	for i := range 600 { // a minute at 10 calls/s, one call in four failing
		tk, d := a.Admit(route, atrion.PriorityNormal)
		if !d.Allowed {
			t.Fatalf("call %d shed on a route with one failure in four", i)
		}
		clk.Advance(20 * time.Millisecond)
		c := atrion.Success
		if i%4 == 3 {
			c = atrion.Failure
		}
		tk.Done(c)
		clk.Advance(80 * time.Millisecond)
	}
	if s, _ := a.Snapshot(route); s.Mode != atrion.ModeOperational || s.Transitions > 1 {
		t.Fatalf("one failure in four: mode %v after %d transitions, want OPERATIONAL throughout", s.Mode, s.Transitions)
	}
}
