package law

import "testing"

// Given a route OPERATIONAL.

// When a tick comes, then it opens on failure evidence only: nearly all
// calls failing with R past the break point, or failure beyond doubt;
// not on latency alone, a partial outage, too few calls, or R below the
// break point.
func TestOperationalOpensOnFailureEvidenceOnly(t *testing.T) {
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
}

// When a peer's open circuit was adopted and R is past the break point,
// then it opens: the peer's failure is evidence here too.
func TestOperationalOpensOnAPeersOpenCircuit(t *testing.T) {
	c := circuit{Mode: ModeOperational}
	f := facts(sec, 35, 0, 0, false)
	f.peerOpen = true
	if c.next(f, testParams()); c.Mode != ModeCircuitOpen {
		t.Errorf("peer open, R past the break: %v, want CIRCUIT_OPEN", c.Mode)
	}
	c = circuit{Mode: ModeOperational}
	f = facts(sec, 25, 0, 0, false)
	f.peerOpen = true
	if c.next(f, testParams()); c.Mode != ModeOperational {
		t.Errorf("peer open, R below the break: %v, want OPERATIONAL", c.Mode)
	}
}

// When it opens, then the minimum open time is the base one, rejected
// callers are told to come back when it ends, and no probe is admitted
// in the tick it opened.
func TestOperationalOpensForTheBaseTime(t *testing.T) {
	tick := int64(100 * 1e6)
	c := circuit{Mode: ModeOperational}
	c.next(facts(0, 35, 20, 19, false), testParams())
	if c.minOpen != minOpenTicks*100e6 {
		t.Fatalf("min open %v, want %d ticks", c.minOpen, minOpenTicks)
	}
	if got := c.RetryAfter(0, 100e6); got != c.minOpen {
		t.Fatalf("retry after %v, want the minimum open time %v", got, c.minOpen)
	}
	s := State{Circ: c, P: testParams()}
	if s.Probe(0, 100e6) {
		t.Fatal("a probe in the tick the circuit opened")
	}
	if !s.Probe(probeTicks*tick, 100e6) {
		t.Fatalf("no probe %d ticks after opening", probeTicks)
	}
}

// When it has run a while without reopening, then a rejected caller is
// told to come back in a second, and nothing is ramped.
func TestOperationalAdmitsAll(t *testing.T) {
	s := NewState(testParams(), &TunerParams{Disabled: true}, 0, 0)
	s.Circ.set(ModeOperational, 0)
	if got := s.Circ.RetryAfter(0, 100e6); got != 1e9 {
		t.Fatalf("retry after %v, want a second", got)
	}
	if s.RampShares() != ([5]float64{}) || s.Probe(sec, 100e6) {
		t.Fatalf("ramp %v, probe %v: want none", s.RampShares(), s.Probe(sec, 100e6))
	}
}
