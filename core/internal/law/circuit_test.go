package law

import (
	"math"
	"testing"
	"time"
)

// Given/When/Then tests of the mode machine, one state at a time.

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

func TestCircuitOperational(t *testing.T) {
	p := testParams()
	for _, c := range []struct {
		name string
		f    *tickFacts
		want Mode
	}{
		{"healthy", facts(sec, 10, 20, 0, false), ModeOperational},
		{"nearly all failing, R past the break", facts(sec, 35, 20, 19, false), ModeCircuitOpen},
		{"nearly all failing, R below the break", facts(sec, 25, 20, 19, false), ModeOperational},
		{"R past the break, three in four failing: still worth calling", facts(sec, 60, 20, 15, false), ModeOperational},
		{"R past the break, a minority failing (partial outage)", facts(sec, 60, 30, 10, false), ModeOperational},
		{"R past the break from latency alone", facts(sec, 60, 30, 0, false), ModeOperational},
		{"certain failure, R still low", facts(sec, 12, 100, 100, true), ModeCircuitOpen},
		{"too few calls to judge", facts(sec, 40, 2, 2, false), ModeOperational},
	} {
		c0 := circuit{Mode: ModeOperational}
		c0.next(c.f, p)
		if c0.Mode != c.want {
			t.Errorf("%s: %v, want %v", c.name, c0.Mode, c.want)
		}
	}
	// a peer's open circuit is failure evidence here too
	c0 := circuit{Mode: ModeOperational}
	f := facts(sec, 35, 0, 0, false)
	f.peerOpen = true
	if c0.next(f, p); c0.Mode != ModeCircuitOpen {
		t.Errorf("peer open, R past the break: %v, want CIRCUIT_OPEN", c0.Mode)
	}
}

func TestCircuitBootstrap(t *testing.T) {
	p := testParams()
	c := circuit{Mode: ModeBootstrap}
	if c.next(facts(sec, 12, 10, 0, false), p); c.Mode != ModeBootstrap {
		t.Fatalf("bootstrap not done: %v", c.Mode)
	}
	if c.next(facts(2*sec, 12, 100, 100, true), p); c.Mode != ModeCircuitOpen {
		t.Fatalf("certain failure in bootstrap: %v, want CIRCUIT_OPEN", c.Mode)
	}
	c = circuit{Mode: ModeBootstrap}
	f := facts(sec, 10, 10, 0, false)
	f.bootDone = true
	if c.next(f, p); c.Mode != ModeOperational {
		t.Fatalf("bootstrap done: %v, want OPERATIONAL", c.Mode)
	}
}

func TestCircuitOpen(t *testing.T) {
	p := testParams()
	opened := func() circuit {
		c := circuit{Mode: ModeOperational}
		c.next(facts(0, 35, 20, 19, false), p)
		return c
	}
	c := opened()
	if c.Mode != ModeCircuitOpen || c.minOpen != minOpenTicks*100*time.Millisecond {
		t.Fatalf("%v, min open %v: want CIRCUIT_OPEN for %v", c.Mode, c.minOpen, minOpenTicks*100*time.Millisecond)
	}
	// a good probe before the minimum open time: still open
	if c.next(facts(sec/2, 25, 1, 0, false), p); c.Mode != ModeCircuitOpen {
		t.Fatalf("good probe before the minimum open time: %v", c.Mode)
	}
	// a failed probe after it: still open
	if c.next(facts(2*sec, 25, 1, 1, false), p); c.Mode != ModeCircuitOpen {
		t.Fatalf("failed probe: %v", c.Mode)
	}
	// a good probe after it: RECOVERING
	if c.next(facts(3*sec, 25, 1, 0, false), p); c.Mode != ModeRecovering {
		t.Fatalf("good probe after the minimum open time: %v, want RECOVERING", c.Mode)
	}
	// time alone heals: R below the recovery point, no probe failed lately
	c = opened()
	if c.next(facts(2*sec, 12, 0, 0, false), p); c.Mode != ModeRecovering {
		t.Fatalf("silent and healed: %v, want RECOVERING", c.Mode)
	}
	c = opened()
	c.next(facts(2*sec-sec/10, 20, 1, 1, false), p) // a probe fails
	if c.next(facts(2*sec, 12, 0, 0, false), p); c.Mode != ModeCircuitOpen {
		t.Fatalf("healed R right after a failed probe: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

func TestCircuitRecovering(t *testing.T) {
	p := testParams()
	rec := func() circuit {
		c := circuit{Mode: ModeOperational}
		c.next(facts(0, 35, 20, 19, false), p)
		c.next(facts(2*sec, 12, 1, 0, false), p)
		if c.Mode != ModeRecovering {
			t.Fatalf("setup: %v", c.Mode)
		}
		return c
	}
	// isolated noise is tolerated
	c := rec()
	c.next(facts(2*sec+sec/10, 15, 5, 1, false), p)
	c.next(facts(2*sec+2*sec/10, 15, 5, 0, false), p)
	if c.Mode != ModeRecovering {
		t.Fatalf("one failure in ten calls reopened: %v", c.Mode)
	}
	// nearly all calls failing reopens, and the next minimum open time doubles
	c = rec()
	for i := range 3 {
		c.next(facts(2*sec+int64(i+1)*sec/10, 15, 1, 1, false), p)
	}
	if c.Mode != ModeCircuitOpen || c.minOpen != 2*minOpenTicks*100*time.Millisecond {
		t.Fatalf("failing recovery: %v, min open %v; want CIRCUIT_OPEN for %v", c.Mode, c.minOpen, 2*minOpenTicks*100*time.Millisecond)
	}
	// the ramp ends in OPERATIONAL
	c = rec()
	for i := range p.Recovery {
		c.next(facts(2*sec+int64(i+1)*sec/10, 12, 5, 0, false), p)
	}
	if c.Mode != ModeOperational {
		t.Fatalf("after %d healthy ticks: %v, want OPERATIONAL", p.Recovery, c.Mode)
	}
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

func TestWilsonLower(t *testing.T) {
	for _, c := range []struct{ k, n, want float64 }{
		{0, 10, 0}, {0, 0, 0}, {1, 1, 0.2065}, {1, 10, 0.0179}, {10, 10, 0.7225}, {50, 100, 0.4038},
	} {
		if got := WilsonLower(c.k, c.n); got < c.want-0.0005 || got > c.want+0.0005 {
			t.Errorf("wilsonLower(%v, %v) = %.4f, want %.4f", c.k, c.n, got, c.want)
		}
	}
}

func TestLatencyFloor(t *testing.T) {
	var f latencyFloor
	f.learn(20, 0.1)
	if f.Ms != 20 || f.baseline(0) != 40 {
		t.Fatalf("first tick: floor %v baseline %v", f.Ms, f.baseline(0))
	}
	f.learn(10, 0.1) // a faster tick pulls it down a quarter of the way
	if f.Ms != 17.5 {
		t.Fatalf("floor %v, want 17.5", f.Ms)
	}
	for range 10000 { // a long slow leak lifts it only to the ceiling
		f.learn(1000, 0.1)
	}
	if f.Ms > floorCeiling*17.5+1e-9 {
		t.Fatalf("floor %v leaked past %v × 17.5", f.Ms, floorCeiling)
	}
	if f.baseline(250) != 250 {
		t.Fatal("an SLO latency wins over the learned one")
	}
	var g latencyFloor
	for _, v := range []float64{-1, 0, 1e300} {
		g.learn(v, 0.1)
	}
	if g.Ms != maxBaselineMs {
		t.Fatalf("bad latencies: floor %v, want only the absurd one clamped to %v", g.Ms, float64(maxBaselineMs))
	}
}
