package atrion_test

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// The hot path allocates nothing while Update changes the configuration
// and an audit sink is attached: the routes take the new configuration at
// their tick closes, inside the measured calls.
func TestLiveConfigAllocs(t *testing.T) {
	clk := atrion.NewManualClock(epoch)
	a, err := atrion.New(atrion.WithClock(clk), atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) {})))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	ids := routeIDs(50)
	for _, id := range ids {
		a.Admit(id, atrion.PriorityNormal)
	}
	for round := range 20 {
		// a new configuration every round: the 50 routes take it at their
		// next tick close, which the calls below cause
		if err := a.Update(atrion.WithRouteConfig(ids[round%len(ids)],
			atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 4 + float64(round%3)}})); err != nil {
			t.Fatal(err)
		}
		clk.Advance(100 * time.Millisecond)
		i := 0
		allocs := testing.AllocsPerRun(len(ids), func() {
			tk, d := a.Admit(ids[i%len(ids)], atrion.PriorityNormal)
			if d.Allowed {
				tk.Done(atrion.Success)
			}
			i++
		})
		if allocs != 0 {
			t.Fatalf("round %d: Admit+Done allocates %.2f times per call while routes take a new configuration", round, allocs)
		}
	}
	// the ticks (and with them the configurations) closed in the measured
	// calls: one per round, counted when it had samples (the first round's
	// did not: the calls before it never ended)
	for _, id := range ids {
		if s, _ := a.Snapshot(id); s.Ticks < 19 {
			t.Fatalf("%s closed %d ticks with samples, want 19", id, s.Ticks)
		}
	}
}

// BenchmarkTickCloseLive is BenchmarkTickClose with a configuration update
// waiting at every tick close, and an audit sink attached: what a route's
// tick close pays to take a new configuration (static: the same closes
// with nothing to take).
func BenchmarkTickCloseLive(b *testing.B) {
	for _, live := range []bool{false, true} {
		name := "static"
		if live {
			name = "updated"
		}
		b.Run(name, func(b *testing.B) {
			clk := atrion.NewManualClock(epoch)
			a, err := atrion.New(atrion.WithClock(clk), atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) {})))
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close(context.Background())
			cfg := [2]atrion.Option{
				atrion.WithRouteConfig("r", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 4}}),
				atrion.WithRouteConfig("r", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 5}}),
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if live {
					b.StopTimer()
					if err := a.Update(cfg[i%2]); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond})
				clk.Advance(100 * time.Millisecond)
				a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond}) // closes the tick
				i++
			}
		})
	}
}
