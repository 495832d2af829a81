package atrion_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

func tickN(a *atrion.Atrion, clk *atrion.ManualClock, route string, n int, c atrion.Class) {
	for range n {
		if tk, d := a.Admit(route, atrion.PriorityCritical); d.Allowed {
			tk.Done(c)
		}
	}
	clk.Advance(100 * time.Millisecond)
}

// Given a running engine, when Update changes a route's physics, then the
// route takes it at its next tick close and keeps what it learned.
func TestUpdateAppliesAtTheNextTick(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	for range 30 {
		tickN(a, clk, "r", 10, atrion.Success)
	}
	before, _ := a.Snapshot("r")
	if before.BreakPoint != 100 {
		t.Fatalf("break point %v before the update, want the static 100", before.BreakPoint)
	}
	err := a.Update(atrion.WithRouteConfig("r", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 5}}))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := a.Snapshot("r"); s.BreakPoint != 100 {
		t.Fatalf("break point %v before the next tick close, want 100 still", s.BreakPoint)
	}
	tickN(a, clk, "r", 10, atrion.Success)
	after, _ := a.Snapshot("r")
	if after.BreakPoint != 50 || after.Mode != atrion.ModeOperational || after.Ticks < before.Ticks {
		t.Fatalf("after the update: break %v, mode %v, ticks %d (before %d): want 50, OPERATIONAL, learned state kept",
			after.BreakPoint, after.Mode, after.Ticks, before.Ticks)
	}
	if after.LatencyFloor != before.LatencyFloor {
		t.Fatalf("latency floor %v → %v: an update keeps what the route learned", before.LatencyFloor, after.LatencyFloor)
	}
	// new routes take the new defaults at once
	if err := a.Update(atrion.WithPhysics(atrion.PhysicsConfig{BreakMultiplier: 3})); err != nil {
		t.Fatal(err)
	}
	tickN(a, clk, "fresh", 1, atrion.Success)
	if s, _ := a.Snapshot("fresh"); s.BreakPoint != 30 {
		t.Fatalf("a route first seen after the update: break %v, want 30", s.BreakPoint)
	}
	if s, _ := a.Snapshot("r"); s.BreakPoint != 50 {
		t.Fatalf("the route override stays over new defaults: break %v, want 50", s.BreakPoint)
	}
}

// A bad value anywhere changes nothing and names the field as New does;
// options that cannot change live are refused by name.
func TestUpdateValidatesFirst(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	tickN(a, clk, "r", 10, atrion.Success)
	err := a.Update(
		atrion.WithPhysics(atrion.PhysicsConfig{BreakMultiplier: 4}), // valid, but must not apply either
		atrion.WithRouteConfig("r", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{DecayRate: -1}}))
	if err == nil || !strings.Contains(err.Error(), `WithRouteConfig("r").PhysicsConfig.DecayRate`) {
		t.Fatalf("error %v, want one naming WithRouteConfig(\"r\").PhysicsConfig.DecayRate", err)
	}
	_, newErr := atrion.New(atrion.WithRouteConfig("r", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{DecayRate: -1}}))
	if newErr == nil || newErr.Error() != err.Error() {
		t.Fatalf("Update's error %q, New's %q: want the same", err, newErr)
	}
	tickN(a, clk, "r", 10, atrion.Success)
	if s, _ := a.Snapshot("r"); s.BreakPoint != 100 {
		t.Fatalf("a refused update changed the break point to %v", s.BreakPoint)
	}
	for _, c := range []struct {
		name string
		opt  atrion.Option
	}{
		{"WithClock", atrion.WithClock(atrion.NewManualClock(epoch))},
		{"WithTick", atrion.WithTick(time.Second)},
		{"WithProvider", atrion.WithProvider(atrion.NewInMemoryProvider(0))},
		{"WithObserver", atrion.WithObserver(sink.Silent())},
		{"WithNodeID", atrion.WithNodeID("x")},
		{"WithGroups", atrion.WithGroups(func(string) string { return "" })},
	} {
		if err := a.Update(atrion.WithMaxRoutes(50), c.opt); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("Update(%s): %v, want it refused by name", c.name, err)
		}
	}
	if err := a.Update(atrion.WithMaxRoutes(0)); err == nil || !strings.Contains(err.Error(), "WithMaxRoutes") {
		t.Errorf("WithMaxRoutes(0): %v", err)
	}
	if err := a.Update(nil); err != nil {
		t.Errorf("Update(nil): %v", err)
	}
}

// ResetLearned makes the routes an update changes start over, and only
// those.
func TestUpdateResetLearned(t *testing.T) {
	a, clk := atriontest.New(t)
	for range 40 {
		tickN(a, clk, "changed", 10, atrion.Success)
		tickN(a, clk, "kept", 10, atrion.Success)
	}
	for range 3 {
		tickN(a, clk, "changed", 10, atrion.Failure)
	}
	if s, _ := a.Snapshot("changed"); s.Scar == 0 {
		t.Fatal("no scar to reset")
	}
	err := a.Update(atrion.ResetLearned(),
		atrion.WithRouteConfig("changed", atrion.RouteConfig{SLO: &atrion.SLO{BaselineLatency: 50 * time.Millisecond}}))
	if err != nil {
		t.Fatal(err)
	}
	tickN(a, clk, "changed", 10, atrion.Success)
	tickN(a, clk, "kept", 10, atrion.Success)
	c, _ := a.Snapshot("changed")
	k, _ := a.Snapshot("kept")
	if c.Scar != 0 || c.Mode != atrion.ModeBootstrap || c.Tuner.Samples != 0 {
		t.Fatalf("changed route after ResetLearned: scar %v, mode %v, tuner samples %d: want 0, BOOTSTRAP, 0", c.Scar, c.Mode, c.Tuner.Samples)
	}
	if k.Mode != atrion.ModeOperational || k.Tuner.Samples == 0 {
		t.Fatalf("untouched route: mode %v, tuner samples %d: want it left alone", k.Mode, k.Tuner.Samples)
	}
}

// Updates race traffic: no request waits, nothing is lost (run with -race).
func TestUpdateUnderTraffic(t *testing.T) {
	a, err := atrion.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var served [4]int
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if tk, d := a.Admit("r", atrion.PriorityNormal); d.Allowed {
					tk.Done(atrion.Success)
					served[g]++
				}
			}
		}()
	}
	for i := range 50 {
		if err := a.Update(atrion.WithPhysics(atrion.PhysicsConfig{BreakMultiplier: float64(5 + i%5)})); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	s, _ := a.Snapshot("r")
	total := served[0] + served[1] + served[2] + served[3]
	if s.Totals.Admitted != uint64(total) || s.Totals.Successes != uint64(total) {
		t.Fatalf("totals %+v, served %d: an update lost requests", s.Totals, total)
	}
}
