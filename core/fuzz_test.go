package atrion_test

import (
	"math"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// FuzzTelemetry feeds arbitrary outcomes and telemetry and checks the
// invariants: R finite and ≥ R_base, S ≥ 0 and finite, a valid mode, no panic.
func FuzzTelemetry(f *testing.F) {
	f.Add(int64(50e6), false, 0.0, 0.0, 0.0, uint16(100), int8(0), uint8(0))
	f.Add(int64(-1), true, math.NaN(), math.Inf(1), math.Inf(-1), uint16(0), int8(2), uint8(2))
	f.Add(int64(math.MaxInt64), true, 2.0, -1.0, 1e308, uint16(65535), int8(-128), uint8(255))
	f.Fuzz(func(t *testing.T, latNs int64, isErr bool, sat, errRate, voltage float64, advanceMs uint16, prio int8, class uint8) {
		clk := atrion.NewManualClock(epoch)
		a, err := atrion.New(atrion.WithClock(clk), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: 2}))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			a.ReportOutcome("f", atrion.Outcome{Latency: time.Duration(latNs), IsError: isErr, Saturation: sat})
			d := a.Route("f", atrion.Telemetry{Latency: time.Duration(latNs), ErrorRate: errRate, Saturation: sat}, voltage)
			if s, _ := a.Snapshot("f"); math.IsNaN(s.Resistance) || s.Resistance < 10 || !d.Mode.Valid() {
				t.Fatalf("decision %+v, R %v", d, s.Resistance)
			}
			tk, d := a.Admit("f", atrion.Priority(prio))
			if d.Allowed {
				tk.Done(atrion.Class(class))
			} else if d.RetryAfter <= 0 {
				t.Fatalf("rejection without a retry hint: %+v", d)
			}
			clk.Advance(time.Duration(advanceMs) * time.Millisecond * time.Duration(i%3))
			s, ok := a.Snapshot("f")
			if !ok {
				t.Fatal("route lost")
			}
			if !(s.Resistance >= 10) || math.IsInf(s.Resistance, 0) || !(s.Scar >= 0) || math.IsInf(s.Scar, 0) ||
				!s.Mode.Valid() || math.IsNaN(s.Momentum) || math.IsInf(s.Momentum, 0) {
				t.Fatalf("invariants broken: %+v", s)
			}
		}
	})
}
