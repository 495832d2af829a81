package atrion_test

import (
	"math"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func near(a, b float64) bool { return math.Abs(a-b) <= 0.01 }

// TestReferenceTrajectory reproduces SPEC §2's reference trajectory through
// the public API.
func TestReferenceTrajectory(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond, TargetErrorRate: 0.01}))
	const route = "ref"
	var openAt int
	for tick := 1; tick <= 50; tick++ {
		a.ReportOutcome(route, atrion.Outcome{Latency: 50 * time.Millisecond, IsError: tick > 20, Saturation: 0})
		clk.Advance(100 * time.Millisecond)
		s, ok := a.Snapshot(route)
		if !ok {
			t.Fatal("route not tracked")
		}
		switch {
		case tick < 10:
			if !near(s.Resistance, 12) || s.Mode != atrion.ModeBootstrap {
				t.Fatalf("tick %d: R=%.4f mode=%v, want 12.00 BOOTSTRAP", tick, s.Resistance, s.Mode)
			}
		case tick <= 20:
			if !near(s.Resistance, 10) || s.Mode != atrion.ModeOperational {
				t.Fatalf("tick %d: R=%.4f mode=%v, want 10.00 OPERATIONAL", tick, s.Resistance, s.Mode)
			}
		case tick == 21:
			if !near(s.Resistance, 15.67) || !near(s.Scar, 5) || !near(s.Momentum*0.02, 0.35) {
				t.Fatalf("first error tick: R=%.4f S=%.4f M=%.4f, want 15.67 / 5 / 0.35 momentum term", s.Resistance, s.Scar, s.Momentum)
			}
		case tick == 40:
			if !near(s.Resistance, 101.40) || !near(s.Scar, 91.09) {
				t.Fatalf("tick 40: R=%.4f S=%.4f, want 101.40 / 91.09", s.Resistance, s.Scar)
			}
		case tick == 50:
			if !near(s.Resistance, 140.55) || !near(s.Scar, 130.24) {
				t.Fatalf("tick 50: R=%.4f S=%.4f, want 140.55 / 130.24", s.Resistance, s.Scar)
			}
		}
		if s.Mode == atrion.ModeCircuitOpen && openAt == 0 {
			openAt = tick
		}
	}
	if openAt != 40 {
		t.Fatalf("CIRCUIT_OPEN entered at tick %d, want 40", openAt)
	}
}
