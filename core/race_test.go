package atrion_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/sink"
)

// TestConcurrentAdmitDone: many goroutines admit and finish on shared
// routes while ticks close (real clock, 1 ms ticks), with observers,
// snapshots and evictions running; run it with -race.
func TestConcurrentAdmitDone(t *testing.T) {
	col := sink.NewCollector(1000)
	a, err := atrion.New(atrion.WithTick(time.Millisecond), atrion.WithObserver(col),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: 3}), atrion.WithMaxRoutes(6))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				route := fmt.Sprintf("GET /r%d", i%8) // 8 routes over a cap of 6: overflow too
				tk, d := a.Admit(route, atrion.Priority(i%5-2))
				if d.Allowed {
					c := atrion.Success
					if (i+g)%7 == 0 {
						c = atrion.Failure
					}
					tk.Done(c)
				}
				if i%1000 == 0 {
					a.ReportOutcome(route, atrion.Outcome{Latency: time.Millisecond, Saturation: 0.4})
					a.Route(route, atrion.Telemetry{Latency: time.Millisecond}, 0)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			for _, s := range a.Snapshots() {
				if !s.Mode.Valid() || s.Resistance < 10 {
					t.Errorf("bad snapshot %+v", s)
				}
			}
			a.Evict("GET /r7")
			_ = a.Stats()
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	var total uint64
	for _, s := range a.Snapshots() {
		total += s.Totals.Decisions
	}
	if total == 0 {
		t.Fatal("no decisions recorded")
	}
}
