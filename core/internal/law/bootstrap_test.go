package law

import "testing"

// Given a route in BOOTSTRAP.

// When a healthy tick comes before its bootstrap ticks are done, then it
// stays in BOOTSTRAP.
func TestBootstrapStaysWhileLearning(t *testing.T) {
	c := circuit{Mode: ModeBootstrap}
	if c.next(facts(sec, 12, 10, 0, false), testParams()); c.Mode != ModeBootstrap {
		t.Fatalf("bootstrap not done: %v, want BOOTSTRAP", c.Mode)
	}
}

// When the last ticks fail beyond doubt, then it opens at once, bootstrap
// done or not.
func TestBootstrapOpensOnCertainFailure(t *testing.T) {
	c := circuit{Mode: ModeBootstrap}
	c.next(facts(sec, 12, 10, 0, false), testParams())
	if c.next(facts(2*sec, 12, 100, 100, true), testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("certain failure in bootstrap: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

// When the tick that completes the bootstrap is healthy, then it runs
// OPERATIONAL.
func TestBootstrapEndsInOperational(t *testing.T) {
	c := circuit{Mode: ModeBootstrap}
	f := facts(sec, 10, 10, 0, false)
	f.bootDone = true
	if c.next(f, testParams()); c.Mode != ModeOperational {
		t.Fatalf("bootstrap done: %v, want OPERATIONAL", c.Mode)
	}
}

// When the tick that completes the bootstrap finds the route failing with
// R past the break point, then it opens instead.
func TestBootstrapEndsOpenWhenFailing(t *testing.T) {
	c := circuit{Mode: ModeBootstrap}
	f := facts(sec, 35, 20, 19, false)
	f.bootDone = true
	if c.next(f, testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("bootstrap done failing past the break: %v, want CIRCUIT_OPEN", c.Mode)
	}
	c = circuit{Mode: ModeBootstrap}
	f = facts(sec, 25, 20, 19, false) // failing, R below the break
	f.bootDone = true
	if c.next(f, testParams()); c.Mode != ModeOperational {
		t.Fatalf("bootstrap done failing below the break: %v, want OPERATIONAL", c.Mode)
	}
}

// When a State starts with no bootstrap ticks, then it starts OPERATIONAL
// at R_base; with them, in BOOTSTRAP with R held at 1.2 × R_base.
func TestBootstrapSkippedWithoutTicks(t *testing.T) {
	p := testParams()
	tp := &TunerParams{Disabled: true}
	if s := NewState(p, tp, 0, 0); s.Circ.Mode != ModeBootstrap || s.R != 1.2*p.BaseR {
		t.Fatalf("with bootstrap ticks: %v at R %v, want BOOTSTRAP at %v", s.Circ.Mode, s.R, 1.2*p.BaseR)
	}
	q := *p
	q.Bootstrap = 0
	if s := NewState(&q, tp, 0, 0); s.Circ.Mode != ModeOperational || s.R != q.BaseR {
		t.Fatalf("without: %v at R %v, want OPERATIONAL at %v", s.Circ.Mode, s.R, q.BaseR)
	}
}
