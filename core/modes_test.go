package atrion_test

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

// drive sends n requests per tick for ticks ticks through Admit, finishing
// admitted ones with outcome(tick), and returns the admitted count per tick.
func drive(a *atrion.Atrion, clk *atrion.ManualClock, route string, p atrion.Priority, ticks, n int, outcome func(tick int) atrion.Class) []int {
	admitted := make([]int, ticks)
	for i := range ticks {
		for range n {
			t, d := a.Admit(route, p)
			if d.Allowed {
				admitted[i]++
				t.Done(outcome(i))
			}
		}
		clk.Advance(100 * time.Millisecond)
	}
	return admitted
}

func always(c atrion.Class) func(int) atrion.Class { return func(int) atrion.Class { return c } }

// TestHealsWithTimeAlone: a caller that only sends when Admit allows sees a
// tripped route heal with time alone, ramp in RECOVERING, return to
// OPERATIONAL, and trip again at once when the failures continue.
func TestHealsWithTimeAlone(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	const route = "GET /pay"
	drive(a, clk, route, atrion.PriorityNormal, 20, 10, always(atrion.Success))
	drive(a, clk, route, atrion.PriorityNormal, 40, 10, always(atrion.Failure))
	s, _ := a.Snapshot(route)
	if s.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("after 40 failing ticks: mode %v R=%.2f, want CIRCUIT_OPEN", s.Mode, s.Resistance)
	}
	// an open circuit rejects even critical traffic, with a retry hint;
	// at most one call of these is its probe
	probes := 0
	for range 10 {
		tk, d := a.Admit(route, atrion.PriorityCritical)
		switch {
		case d.Allowed:
			probes++
			tk.Done(atrion.Failure)
		case d.Reason != atrion.ReasonCircuitOpen || d.RetryAfter <= 0:
			t.Fatalf("open circuit must reject with a retry hint: %+v", d)
		}
	}
	if probes > 1 {
		t.Fatalf("open circuit admitted %d of 10 critical calls, want at most one probe", probes)
	}

	// the caller respects the breaker: it sends only when allowed, and
	// the service has recovered
	var sawRecovering, sawOperational bool
	var rampShares []float64
	for tick := 0; tick < 600 && !sawOperational; tick++ { // 60 s bound
		admitted := 0
		for range 20 {
			tk, d := a.Admit(route, atrion.PriorityNormal)
			if d.Allowed {
				admitted++
				tk.Done(atrion.Success)
			}
		}
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot(route)
		switch s.Mode {
		case atrion.ModeRecovering:
			sawRecovering = true
			rampShares = append(rampShares, float64(admitted)/20)
		case atrion.ModeOperational:
			sawOperational = true
		}
	}
	if !sawRecovering || !sawOperational {
		t.Fatalf("route did not heal: recovering=%v operational=%v", sawRecovering, sawOperational)
	}
	if len(rampShares) < 3 || rampShares[0] >= 0.5 || rampShares[len(rampShares)-1] <= rampShares[0] {
		t.Fatalf("RECOVERING must ramp from a small share upward, got %v", rampShares)
	}

	// failures continue: it trips again at once
	drive(a, clk, route, atrion.PriorityNormal, 60, 10, always(atrion.Failure))
	s, _ = a.Snapshot(route)
	if s.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("renewed failures: mode %v, want CIRCUIT_OPEN", s.Mode)
	}
}

// openThenRecover opens route with failing ticks, then lets it heal in
// silence until RECOVERING.
func openThenRecover(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, route string) {
	t.Helper()
	atriontest.Trip(t, a, clk, route)
	atriontest.Until(t, a, clk, route, atrion.ModeRecovering, 600, nil) // silence
}

// TestRecoveringReopensOnFailure: in RECOVERING a dependency that still
// fails most calls reopens the circuit within a few ticks.
func TestRecoveringReopensOnFailure(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, DecayRate: 1, ScarFactor: 20}))
	const route = "r"
	openThenRecover(t, a, clk, route)
	for tick := range 5 {
		drive(a, clk, route, atrion.PriorityNormal, 1, 10, always(atrion.Failure))
		if s, _ := a.Snapshot(route); s.Mode == atrion.ModeCircuitOpen {
			return
		}
		_ = tick
	}
	s, _ := a.Snapshot(route)
	t.Fatalf("failing calls in RECOVERING for 5 ticks: mode %v, want CIRCUIT_OPEN", s.Mode)
}

// TestRecoveringToleratesNoise: one failed call among healthy ones does
// not reopen a recovering circuit; the ramp goes on to OPERATIONAL.
func TestRecoveringToleratesNoise(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, DecayRate: 1, ScarFactor: 20}))
	const route = "r"
	openThenRecover(t, a, clk, route)
	calls := 0
	noisy := func(int) atrion.Class {
		calls++
		if calls == 3 {
			return atrion.Failure
		}
		return atrion.Success
	}
	for range 60 {
		drive(a, clk, route, atrion.PriorityNormal, 1, 20, noisy)
		s, _ := a.Snapshot(route)
		if s.Mode == atrion.ModeCircuitOpen {
			t.Fatalf("one failed call of %d reopened the circuit", calls)
		}
		if s.Mode == atrion.ModeOperational {
			return
		}
	}
	s, _ := a.Snapshot(route)
	t.Fatalf("mode %v after the ramp, want OPERATIONAL", s.Mode)
}

// TestRateIndependence: scar under sustained trauma is the same at 10, 100
// and 1000 requests per second.
func TestRateIndependence(t *testing.T) {
	var scars []float64
	for _, perTick := range []int{1, 10, 100} { // 10, 100, 1000 rps at 100 ms ticks
		a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
		for tick := range 60 {
			for range perTick {
				a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond, IsError: tick >= 20})
			}
			clk.Advance(100 * time.Millisecond)
		}
		s, _ := a.Snapshot("r")
		scars = append(scars, s.Scar)
	}
	for _, s := range scars[1:] {
		if !near(s, scars[0]) {
			t.Fatalf("scar depends on request rate: %v", scars)
		}
	}
	if scars[0] < 100 {
		t.Fatalf("40 trauma ticks should build scar well above 100, got %v", scars[0])
	}
}

// TestRouteIsolation: one route tripping leaves the others untouched.
func TestRouteIsolation(t *testing.T) {
	a, clk := atriontest.New(t)
	for tick := range 80 {
		for range 5 {
			a.ReportOutcome("bad", atrion.Outcome{Latency: 10 * time.Millisecond, IsError: tick >= 20})
			a.ReportOutcome("good", atrion.Outcome{Latency: 10 * time.Millisecond})
		}
		clk.Advance(100 * time.Millisecond)
	}
	bad, _ := a.Snapshot("bad")
	good, _ := a.Snapshot("good")
	if bad.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("bad route: %v, want CIRCUIT_OPEN", bad.Mode)
	}
	if good.Mode != atrion.ModeOperational || good.Scar != 0 || good.Resistance != 10 {
		t.Fatalf("good route disturbed: %v R=%v S=%v", good.Mode, good.Resistance, good.Scar)
	}
	// the open route admits at most one probe of ten, the good one all
	good10, bad10 := 0, 0
	for range 10 {
		if a.CanAccept("good") {
			good10++
		}
		if a.CanAccept("bad") {
			bad10++
		}
	}
	if good10 != 10 || bad10 > 1 {
		t.Fatalf("CanAccept must follow each route's own state: good %d/10, bad %d/10", good10, bad10)
	}
}

// TestSilenceIsNotTrauma: a silent route's scar only decays.
func TestSilenceIsNotTrauma(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	for range 5 {
		a.ReportOutcome("r", atrion.Outcome{IsError: true})
		clk.Advance(100 * time.Millisecond)
	}
	s0, _ := a.Snapshot("r")
	clk.Advance(10 * time.Second)
	s1, _ := a.Snapshot("r")
	want := s0.Scar * 0.36787944117 // e^(−0.1·10)
	if s0.Scar <= 0 || !near(s1.Scar, want) {
		t.Fatalf("after 10 s of silence scar %v → %v, want %v", s0.Scar, s1.Scar, want)
	}
}

func TestTransitionsByMode(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	drive(a, clk, "r", atrion.PriorityNormal, 15, 5, always(atrion.Success))
	drive(a, clk, "r", atrion.PriorityNormal, 40, 5, always(atrion.Failure))
	clk.Advance(time.Minute)
	s, _ := a.Snapshot("r")
	by := s.TransitionsByMode
	if by[atrion.ModeBootstrap][atrion.ModeOperational] != 1 || by[atrion.ModeOperational][atrion.ModeCircuitOpen] != 1 ||
		by[atrion.ModeCircuitOpen][atrion.ModeRecovering] != 1 || s.Transitions != 3 {
		t.Fatalf("transitions %v (total %d)", by, s.Transitions)
	}
}

// TestWithSaturation: a saturation source is read once per tick, clamped,
// and a panicking one is survived.
func TestWithSaturation(t *testing.T) {
	var val float64 = 0.95
	calls := 0
	a, clk := atriontest.New(t, atrion.WithSaturation(func() float64 {
		calls++
		if calls == 3 {
			panic("gauge broke")
		}
		return val
	}), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	drive(a, clk, "r", atrion.PriorityNormal, 5, 100, always(atrion.Success))
	a.Snapshot("r")
	if calls != 5 {
		t.Fatalf("saturation read %d times for 5 ticks, want once per tick", calls)
	}
	s, _ := a.Snapshot("r")
	if s.Pressure[atrion.PressureSaturation] < 0.7 {
		t.Fatalf("saturation 0.95 must press: %v", s.Pressure)
	}
	val = 42
	drive(a, clk, "r", atrion.PriorityNormal, 1, 1, always(atrion.Success))
	s, _ = a.Snapshot("r")
	if want := 0.7615941559557649; !near(s.Pressure[atrion.PressureSaturation], want) || a.Stats().InvalidInputs < 2 {
		t.Fatalf("saturation 42 must clamp to 1: %v, invalid %d", s.Pressure, a.Stats().InvalidInputs)
	}
}

// TestOneSettleTwoTransitions: a failing tick that opens the circuit and a
// long silence that heals it close in one settle, with four events.
func TestOneSettleTwoTransitions(t *testing.T) {
	col := sink.NewCollector(0)
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}), atrion.WithObserver(col))
	const r = "GET /x"
	fail := func() {
		for range 5 {
			if tk, d := a.Admit(r, atrion.PriorityCritical); d.Allowed {
				tk.Done(atrion.Failure)
			}
		}
	}
	for tick := 0; tick < 100; tick++ {
		fail()
		clk.Advance(100 * time.Millisecond)
		if snap, _ := a.Snapshot(r); snap.Resistance > 95 {
			break
		}
	}
	fail()
	clk.Advance(2 * time.Minute)
	s, _ := a.Snapshot(r)
	a.Flush(context.Background())
	if s.Mode != atrion.ModeRecovering || s.Transitions != 2 {
		t.Fatalf("mode %v after %d transitions, want RECOVERING after 2", s.Mode, s.Transitions)
	}
	if n := len(col.Transitions()); n != 2 {
		t.Fatalf("%d transition events, want 2", n)
	}
}

// TestSheddingKeepsEvidence: at low traffic and fast healing, graded
// shedding must not starve the route of evidence: a route that fails every
// call still opens.
func TestSheddingKeepsEvidence(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, DecayRate: 0.5}))
	for tick := 0; tick < 600; tick++ { // 60 s bound, 30 requests per second
		for range 3 {
			if tk, d := a.Admit("r", atrion.PriorityNormal); d.Allowed {
				tk.Done(atrion.Failure)
			}
		}
		clk.Advance(100 * time.Millisecond)
		if s, _ := a.Snapshot("r"); s.Mode == atrion.ModeCircuitOpen {
			return
		}
	}
	s, _ := a.Snapshot("r")
	t.Fatalf("a route failing every call never opened: %v R=%.1f S=%.1f", s.Mode, s.Resistance, s.Scar)
}

// TestDoneLatency: a ticket finished with a measured latency feeds that
// latency, not the time since Admit, and bad values clamp.
func TestDoneLatency(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	tk, _ := a.Admit("stream", atrion.PriorityNormal)
	clk.Advance(100 * time.Millisecond)                  // a long stream...
	tk.DoneLatency(atrion.Success, 300*time.Millisecond) // evidence about now: the current tick
	clk.Advance(100 * time.Millisecond)
	s, _ := a.Snapshot("stream")
	if !near(s.Pressure[atrion.PressureLatency], 0.9640) { // tanh((300−100)/100)
		t.Fatalf("latency pressure %v, want tanh(2) from the measured 300 ms", s.Pressure)
	}
	tk, _ = a.Admit("stream", atrion.PriorityNormal)
	tk.DoneLatency(atrion.Failure, -time.Hour)
	tk, _ = a.Admit("stream", atrion.PriorityNormal)
	tk.DoneLatency(atrion.Class(200), time.Second) // unknown class: ignored
	(&atrion.Ticket{}).DoneLatency(atrion.Success, time.Second)
	clk.Advance(100 * time.Millisecond)
	s, _ = a.Snapshot("stream")
	if s.Totals.Failures != 1 || s.Totals.Ignored != 1 || a.Stats().InvalidInputs != 1 {
		t.Fatalf("totals %+v invalid %d", s.Totals, a.Stats().InvalidInputs)
	}
}
