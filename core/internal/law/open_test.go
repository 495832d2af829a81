package law

import (
	"testing"
	"time"
)

// Given a route whose circuit opened at 0 (a base minimum open time of a
// second).
func opened(t *testing.T) circuit {
	t.Helper()
	c := circuit{Mode: ModeOperational}
	c.next(facts(0, 35, 20, 19, false), testParams())
	if c.Mode != ModeCircuitOpen || c.minOpen != minOpenTicks*100*time.Millisecond {
		t.Fatalf("setup: %v, min open %v: want CIRCUIT_OPEN for %v", c.Mode, c.minOpen, minOpenTicks*100*time.Millisecond)
	}
	return c
}

// When a probe succeeds before the minimum open time, then it stays open.
func TestOpenHoldsForTheMinimumTime(t *testing.T) {
	c := opened(t)
	if c.next(facts(sec/2, 25, 1, 0, false), testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("good probe before the minimum open time: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

// When a probe fails after the minimum open time, then it stays open; when
// the next one succeeds, then it recovers.
func TestOpenRecoversOnAGoodProbe(t *testing.T) {
	c := opened(t)
	if c.next(facts(2*sec, 25, 1, 1, false), testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("failed probe: %v, want CIRCUIT_OPEN", c.Mode)
	}
	if c.next(facts(3*sec, 25, 1, 0, false), testParams()); c.Mode != ModeRecovering {
		t.Fatalf("good probe after the minimum open time: %v, want RECOVERING", c.Mode)
	}
}

// When no call comes but R has healed below the recovery point and no
// probe failed for a probe interval, then time alone heals it.
func TestOpenHealsWithTime(t *testing.T) {
	c := opened(t)
	if c.next(facts(2*sec, 12, 0, 0, false), testParams()); c.Mode != ModeRecovering {
		t.Fatalf("silent and healed: %v, want RECOVERING", c.Mode)
	}
}

// When R has healed right after a probe failed, then it stays open: the
// failed probe is fresher evidence.
func TestOpenStaysAfterAFailedProbe(t *testing.T) {
	c := opened(t)
	c.next(facts(2*sec-sec/10, 20, 1, 1, false), testParams()) // a probe fails
	if c.next(facts(2*sec, 12, 0, 0, false), testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("healed R right after a failed probe: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

// When R is below the recovery point but the pressure is still critical,
// then time alone does not heal it.
func TestOpenStaysUnderCriticalPressure(t *testing.T) {
	c := opened(t)
	f := facts(2*sec, 12, 0, 0, false)
	f.res.posNrm = testParams().PCrit
	if c.next(f, testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("healed R under critical pressure: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

// When a caller is rejected, then it is told to come back when the
// minimum open time ends: at least a tick, at most five minutes.
func TestOpenRetryAfter(t *testing.T) {
	c := opened(t)
	tick := 100 * time.Millisecond
	for _, x := range []struct {
		now  int64
		want time.Duration
	}{{0, time.Second}, {sec / 2, time.Second / 2}, {sec, tick}, {10 * sec, tick}} {
		if got := c.RetryAfter(x.now, tick); got != x.want {
			t.Errorf("at %v: retry after %v, want %v", time.Duration(x.now), got, x.want)
		}
	}
	c.minOpen = time.Hour
	if got := c.RetryAfter(0, tick); got != 5*time.Minute {
		t.Errorf("an hour's minimum: retry after %v, want the 5 min cap", got)
	}
}

// When ticks pass, then one probe is admitted every probeTicks ticks.
func TestOpenProbesEveryFewTicks(t *testing.T) {
	s := State{Circ: opened(t), P: testParams()}
	tick := 100 * time.Millisecond
	var probes []int
	for i := range 3*probeTicks + 1 {
		if s.Probe(int64(i)*int64(tick), tick) {
			probes = append(probes, i)
		}
	}
	if len(probes) != 3 || probes[0] != probeTicks || probes[2] != 3*probeTicks {
		t.Fatalf("probes at ticks %v, want every %d", probes, probeTicks)
	}
}

// When probes keep succeeding, probe tick after probe tick, then the
// circuit recovers before its minimum open time, however far failed
// recoveries have backed it off: the backoff guards against a dependency
// whose probes fail, and these are evidence that it is back (the cluster
// scenario's busy node stayed open 12 s after its database healed).
func TestOpenRecoversOnARunOfGoodProbes(t *testing.T) {
	c := opened(t)
	c.backoff = 8
	c.open(0, 100*time.Millisecond) // reopened from far back: the longest minimum open time
	if c.minOpen != maxOpenTicks*100*time.Millisecond {
		t.Fatalf("setup: min open %v", c.minOpen)
	}
	for i := int64(1); i < healProbes; i++ {
		if c.next(facts(i*sec/5, 25, 1, 0, false), testParams()); c.Mode != ModeCircuitOpen {
			t.Fatalf("good probe %d of %d: %v, want CIRCUIT_OPEN", i, healProbes, c.Mode)
		}
	}
	if c.next(facts(healProbes*sec/5, 25, 1, 0, false), testParams()); c.Mode != ModeRecovering {
		t.Fatalf("%d good probes in a row: %v, want RECOVERING", healProbes, c.Mode)
	}
}

// When a probe fails between good ones, then the run starts again.
func TestOpenRunOfGoodProbesRestartsOnAFailure(t *testing.T) {
	c := opened(t)
	c.next(facts(sec/10, 25, 1, 0, false), testParams())
	c.next(facts(2*sec/10, 25, 1, 0, false), testParams())
	c.next(facts(3*sec/10, 25, 1, 1, false), testParams()) // fails
	c.next(facts(4*sec/10, 25, 1, 0, false), testParams())
	if c.next(facts(5*sec/10, 25, 1, 0, false), testParams()); c.Mode != ModeCircuitOpen {
		t.Fatalf("two good probes since a failed one, before the minimum open time: %v, want CIRCUIT_OPEN", c.Mode)
	}
}

// When the route is busy, then it probes every minProbeTicks ticks, a
// probe staying at most one call in probeShare; when it is quiet, every
// probeTicks ticks, so probes never become a large share of its calls.
func TestOpenProbesAsTrafficAllows(t *testing.T) {
	for _, tc := range []struct {
		decisions uint64
		every     int64
	}{{0, probeTicks}, {1, probeTicks}, {2, probeTicks}, {5, 4}, {10, minProbeTicks}, {300, minProbeTicks}} {
		s := NewState(testParams(), &TunerParams{Disabled: true}, 0, 0)
		s.Circ = opened(t)
		s.Close(&Tick{End: 0, Dt: 100 * time.Millisecond, Tick: 100 * time.Millisecond, Data: true, Decisions: tc.decisions}, nil)
		s.Circ.Mode, s.Circ.Since = ModeCircuitOpen, 0
		var got int64
		for k := int64(1); k <= probeTicks; k++ {
			if s.Probe(k*100e6, 100*time.Millisecond) {
				got = k
				break
			}
		}
		if got != tc.every {
			t.Errorf("%d decisions a tick: first probe after %d ticks, want %d", tc.decisions, got, tc.every)
		}
	}
}
