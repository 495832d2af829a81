package atrion_test

import (
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// TestDoneSettlesOnce: a handler that finishes its ticket twice (a
// success, then a failure from a deferred cleanup, and again) records one
// outcome per ticket; the later calls are counted and change nothing.
func TestDoneSettlesOnce(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	const ticks, perTick = 30, 20
	for range ticks {
		for range perTick {
			tk, d := a.Admit("r", atrion.PriorityNormal)
			if !d.Allowed {
				continue
			}
			clk.Advance(time.Millisecond)
			tk.Done(atrion.Success)
			tk.Done(atrion.Failure)
			tk.DoneLatency(atrion.Failure, time.Second)
		}
		clk.Advance(100*time.Millisecond - perTick*time.Millisecond)
	}
	s, _ := a.Snapshot("r")
	st := a.Stats()
	t.Logf("mode %v, scar %.1f, R %.1f; successes %d, failures %d; repeated Done calls %d",
		s.Mode, s.Scar, s.Resistance, s.Totals.Successes, s.Totals.Failures, st.RepeatedDones)
	if s.Totals.Failures != 0 || s.Scar != 0 || s.Mode != atrion.ModeOperational {
		t.Errorf("repeated Done calls counted as outcomes: %d failures, scar %.1f, %v", s.Totals.Failures, s.Scar, s.Mode)
	}
	if s.Totals.Successes != ticks*perTick {
		t.Errorf("successes %d, want %d", s.Totals.Successes, ticks*perTick)
	}
	if st.RepeatedDones != 2*ticks*perTick {
		t.Errorf("repeated Done calls counted %d, want %d", st.RepeatedDones, 2*ticks*perTick)
	}
	// the zero Ticket of a rejection stays a no-op, not a repeat
	var zero atrion.Ticket
	zero.Done(atrion.Failure)
	if got := a.Stats().RepeatedDones; got != st.RepeatedDones {
		t.Errorf("the zero Ticket's Done counted as a repeat")
	}
}
