package law

import (
	"math"
	"testing"
	"time"
)

// The mode machine's tests are Given/When/Then, one file per state:
// bootstrap_test.go, operational_test.go, open_test.go, recovering_test.go.
// This file holds their helpers and what crosses the states.

const sec = int64(time.Second)

// testParams are the engine's default physics (atrion's resolvePhysics of
// an empty PhysicsConfig and SLO).
func testParams() *Params {
	return &Params{BaseR: 10, Decay: 0.1, ScarFactor: 5, Damping: 0.02, PCrit: 0.7, BreakMult: 10,
		Bootstrap: 10, TanhK: 1, Recovery: 20, BaseErr: 0.01, BaseSat: 0.5,
		Weights: [3]float64{math.Log1p(5), math.Log1p(8), math.Log1p(3)}}
}

// facts builds one tick's facts: R, the short window's calls and failures
// (also this tick's), and whether the last ticks fail beyond doubt.
func facts(end int64, r float64, calls, fails float64, certain bool) *tickFacts {
	win := &errorWindow{Calls: calls, Fails: fails}
	fast := &errorWindow{}
	if certain {
		fast = &errorWindow{Calls: 100, Fails: 100}
	}
	posNrm := 0.0
	if fails > 0 {
		posNrm = 1
	}
	return &tickFacts{end: end, tick: 100 * time.Millisecond, res: &stepResult{resistance: r, posNrm: posNrm, trauma: fails > 0},
		breakPoint: 30, recoveryPoint: 15, win: win, fast: fast, calls: calls, fails: fails}
}

// The backoff of the minimum open time is capped, and forgiven once a
// recovery has held for a while.
func TestCircuitBackoff(t *testing.T) {
	p := testParams()
	c := circuit{Mode: ModeRecovering}
	for range 20 {
		c.Mode = ModeRecovering
		c.open(0, 100*time.Millisecond)
	}
	if c.minOpen != maxOpenTicks*100*time.Millisecond {
		t.Fatalf("min open %v after 20 failed recoveries, want the cap %v", c.minOpen, maxOpenTicks*100*time.Millisecond)
	}
	c.set(ModeOperational, 0)
	before := c.backoff
	c.next(facts(calmTicks*sec/10, 10, 10, 0, false), p)
	if c.backoff != before-1 {
		t.Fatalf("backoff %d after %d calm ticks, want %d", c.backoff, calmTicks, before-1)
	}
	// a fresh incident after a held recovery opens for the base time
	c = circuit{Mode: ModeOperational}
	c.next(facts(0, 35, 20, 19, false), p)
	if c.minOpen != minOpenTicks*100*time.Millisecond {
		t.Fatalf("min open %v, want %v", c.minOpen, minOpenTicks*100*time.Millisecond)
	}
}
