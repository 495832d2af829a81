package atrion_test

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

// A tick event carries the tick's counts and the mean latency of its timed
// calls, what a recorder needs to replay the route.
func TestTickEventCounts(t *testing.T) {
	col := sink.NewCollector(0)
	a, clk := atriontest.New(t, atrion.WithObserver(col))
	// every call is timed on a ManualClock-driven quiet route: 10 ms, 30 ms
	t1, _ := a.Admit("r", atrion.PriorityNormal)
	t2, _ := a.Admit("r", atrion.PriorityNormal)
	clk.Advance(10 * time.Millisecond)
	t1.Done(atrion.Success)
	clk.Advance(20 * time.Millisecond)
	t2.Done(atrion.Failure)
	clk.Advance(100 * time.Millisecond)
	a.Snapshot("r") // closes the tick
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ev atrion.Event
	for _, e := range col.Events() {
		if e.Kind == atrion.EventTick && e.Route == "r" && e.Admitted > 0 {
			ev = e
		}
	}
	if ev.Admitted != 2 || ev.Succeeded != 1 || ev.Failed != 1 || ev.Latency != 20*time.Millisecond {
		t.Fatalf("tick event %+v: want 2 admitted, 1 succeeded, 1 failed, mean latency 20ms", ev)
	}
}
