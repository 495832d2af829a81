package atrion_test

import (
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func report(a *atrion.Atrion, clk *atrion.ManualClock, route string, ticks int, o func(tick int) atrion.Outcome) {
	for i := range ticks {
		a.ReportOutcome(route, o(i))
		clk.Advance(100 * time.Millisecond)
	}
}

func healthy(int) atrion.Outcome { return atrion.Outcome{Latency: 20 * time.Millisecond} }

// TestTunerDoesNotLearnIncidents: thresholds stay put while the route is in
// trouble.
func TestTunerDoesNotLearnIncidents(t *testing.T) {
	a, clk := atriontest.New(t)
	report(a, clk, "r", 120, healthy)
	before, _ := a.Snapshot("r")
	if !before.Tuner.Enforced || before.BreakPoint != before.Tuner.Break {
		t.Fatalf("tuner should be warm and enforcing after 110 healthy ticks: %+v", before.Tuner)
	}
	// an incident: errors every tick for 3 s
	report(a, clk, "r", 30, func(int) atrion.Outcome { return atrion.Outcome{Latency: 900 * time.Millisecond, IsError: true} })
	during, _ := a.Snapshot("r")
	if during.Tuner.Samples != before.Tuner.Samples {
		t.Fatalf("tuner learned %d incident ticks", during.Tuner.Samples-before.Tuner.Samples)
	}
	if during.Tuner.Break > before.Tuner.Break || during.Tuner.Mean != before.Tuner.Mean {
		t.Fatalf("thresholds climbed during the incident: %+v → %+v", before.Tuner, during.Tuner)
	}
	if during.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("incident should trip the learned break point %.1f, mode %v R=%.1f", before.Tuner.Break, during.Mode, during.Resistance)
	}
}

// TestTunerShadowMode: shadow mode learns and publishes, the static points decide.
func TestTunerShadowMode(t *testing.T) {
	run := func(shadow bool) atrion.RouteSnapshot {
		a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Shadow: shadow}))
		report(a, clk, "r", 120, healthy)
		// a moderate incident: every call fails (5 a tick), R climbs past
		// the learned 30 but stays below the static 100
		for range 8 {
			for range 5 {
				a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond, IsError: true})
			}
			clk.Advance(100 * time.Millisecond)
		}
		s, _ := a.Snapshot("r")
		return s
	}
	shadow, enforced := run(true), run(false)
	if shadow.Tuner.Break != 30 || shadow.Tuner.Enforced || shadow.BreakPoint != 100 {
		t.Fatalf("shadow: tuner must publish its break (30) but not enforce it: %+v break=%v", shadow.Tuner, shadow.BreakPoint)
	}
	if shadow.Mode != atrion.ModeOperational || shadow.Resistance < 30 {
		t.Fatalf("shadow: R=%.1f mode %v, want OPERATIONAL above the learned break", shadow.Resistance, shadow.Mode)
	}
	if enforced.Mode != atrion.ModeCircuitOpen || enforced.BreakPoint != 30 {
		t.Fatalf("enforced: mode %v break %v, want CIRCUIT_OPEN at 30", enforced.Mode, enforced.BreakPoint)
	}
}

// TestTunerPerRoute: routes with different behaviour learn different thresholds.
func TestTunerPerRoute(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}))
	for i := range 300 {
		a.ReportOutcome("steady", atrion.Outcome{Latency: 20 * time.Millisecond})
		// a flaky route: a latency spike every 2 s leaves scar that heals in between
		lat := 30 * time.Millisecond
		if i%20 == 0 {
			lat = 400 * time.Millisecond
		}
		a.ReportOutcome("flaky", atrion.Outcome{Latency: lat})
		clk.Advance(100 * time.Millisecond)
	}
	steady, _ := a.Snapshot("steady")
	flaky, _ := a.Snapshot("flaky")
	if steady.Tuner.Break != 30 {
		t.Fatalf("steady route: learned break %v, want the floor 30", steady.Tuner.Break)
	}
	if flaky.Tuner.Break < steady.Tuner.Break+5 {
		t.Fatalf("flaky route should learn a higher break: steady %+v flaky %+v", steady.Tuner, flaky.Tuner)
	}
	if flaky.Mode == atrion.ModeCircuitOpen {
		t.Fatalf("flaky route tripped on its normal behaviour: R=%.1f break=%.1f", flaky.Resistance, flaky.BreakPoint)
	}
}

// TestLearnedLatencyBaseline: without an SLO a 3 ms route learns its own
// baseline, and a slow leak cannot raise it past the ceiling.
func TestLearnedLatencyBaseline(t *testing.T) {
	a, clk := atriontest.New(t)
	report(a, clk, "fast", 50, func(int) atrion.Outcome { return atrion.Outcome{Latency: 3 * time.Millisecond} })
	s, _ := a.Snapshot("fast")
	if s.LatencyBaseline < 5*time.Millisecond || s.LatencyBaseline > 7*time.Millisecond {
		t.Fatalf("learned baseline %v, want about 2 × 3 ms", s.LatencyBaseline)
	}
	boot := s.LatencyBaseline
	// a slow leak: latency creeps up 1 % per tick
	lat := 3.0
	for range 400 {
		lat *= 1.01
		a.ReportOutcome("fast", atrion.Outcome{Latency: time.Duration(lat * 1e6)})
		clk.Advance(100 * time.Millisecond)
	}
	s, _ = a.Snapshot("fast")
	if s.LatencyBaseline > boot*3/2+time.Microsecond {
		t.Fatalf("baseline leaked to %v, ceiling is 1.5 × %v", s.LatencyBaseline, boot)
	}
	if s.Pressure[atrion.PressureLatency] < 0.9 {
		t.Fatalf("a 150 ms route with a ~6 ms baseline must show latency pressure, got %v", s.Pressure)
	}
}
