package law

import (
	"math"
	"testing"
	"time"
)

// Given a route that opened at 0 and began RECOVERING on a good probe two
// seconds later.
func recovering(t *testing.T) circuit {
	t.Helper()
	c := circuit{Mode: ModeOperational}
	c.next(facts(0, 35, 20, 19, false), testParams())
	c.next(facts(2*sec, 12, 1, 0, false), testParams())
	if c.Mode != ModeRecovering {
		t.Fatalf("setup: %v, want RECOVERING", c.Mode)
	}
	return c
}

// When one call in ten fails, then it keeps recovering: isolated noise is
// tolerated.
func TestRecoveringToleratesNoise(t *testing.T) {
	c := recovering(t)
	c.next(facts(2*sec+sec/10, 15, 5, 1, false), testParams())
	c.next(facts(2*sec+2*sec/10, 15, 5, 0, false), testParams())
	if c.Mode != ModeRecovering {
		t.Fatalf("one failure in ten calls reopened: %v", c.Mode)
	}
}

// When nearly all its calls fail, then it reopens, and the next minimum
// open time doubles.
func TestRecoveringReopensOnFailure(t *testing.T) {
	c := recovering(t)
	for i := range 3 {
		c.next(facts(2*sec+int64(i+1)*sec/10, 15, 1, 1, false), testParams())
	}
	if c.Mode != ModeCircuitOpen || c.minOpen != 2*minOpenTicks*100*time.Millisecond {
		t.Fatalf("failing recovery: %v, min open %v; want CIRCUIT_OPEN for %v", c.Mode, c.minOpen, 2*minOpenTicks*100*time.Millisecond)
	}
}

// When its recovery ticks pass healthy, then it runs OPERATIONAL.
func TestRecoveringEndsInOperational(t *testing.T) {
	p := testParams()
	c := recovering(t)
	for i := range p.Recovery {
		if c.Mode != ModeRecovering {
			t.Fatalf("left RECOVERING after %d of %d healthy ticks: %v", i, p.Recovery, c.Mode)
		}
		c.next(facts(2*sec+int64(i+1)*sec/10, 12, 5, 0, false), p)
	}
	if c.Mode != ModeOperational {
		t.Fatalf("after %d healthy ticks: %v, want OPERATIONAL", p.Recovery, c.Mode)
	}
}

// When healthy ticks pass, then the ramp admits more of each priority,
// higher priorities first, critical traffic always, and a probe each
// tick.
func TestRecoveringRamps(t *testing.T) {
	p := testParams()
	s := State{Circ: recovering(t), P: p}
	first := s.RampShares()
	if first[0] != 0 || !(first[1] < first[2] && first[2] < first[3] && first[3] == first[4]) || first[2] != 0.9 {
		t.Fatalf("first ramp %v: want critical passed, normal 90 %% rejected, lower priorities more", first)
	}
	if !s.Probe(2*sec, 100*time.Millisecond) {
		t.Fatal("RECOVERING admits no probe")
	}
	for i := range p.Recovery / 2 {
		s.Circ.next(facts(2*sec+int64(i+1)*sec/10, 12, 5, 0, false), p)
	}
	if mid := s.RampShares(); !(mid[2] < first[2] && mid[4] < first[4]) {
		t.Fatalf("halfway ramp %v, first %v: want less rejected", mid, first)
	}
}

// When its calls keep succeeding, then the share it admits doubles each
// healthy tick: from a tenth to all normal traffic in four ticks (a slow
// start), however long the run of ticks before OPERATIONAL; critical
// traffic always passes and lower priorities follow the square.
func TestRecoveringRampsUpBySlowStart(t *testing.T) {
	want := []float64{0.9, 0.8, 0.6, 0.2, 0} // normal traffic rejected after 0..4 healthy ticks
	for step, w := range want {
		s := rampShares(step, 20)
		if math.Abs(s[2]-w) > 1e-9 {
			t.Errorf("after %d healthy ticks normal traffic rejected %.2f, want %.2f", step, s[2], w)
		}
		if s[0] != 0 {
			t.Errorf("after %d healthy ticks critical traffic rejected %.2f", step, s[0])
		}
		if s[3] < s[2] {
			t.Errorf("after %d healthy ticks low traffic rejected %.2f, less than normal's %.2f", step, s[3], s[2])
		}
	}
	c := recovering(t)
	for i := range 4 {
		c.next(facts(2*sec+int64(i+1)*sec/10, 15, 10, 0, false), testParams())
	}
	s := State{Circ: c, P: testParams()}
	if c.Mode != ModeRecovering || s.RampShares()[2] != 0 {
		t.Fatalf("four healthy ticks into RECOVERING: %v, normal rejected %.2f; want all admitted", c.Mode, s.RampShares()[2])
	}
}
