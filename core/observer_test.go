package atrion_test

import (
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

// TestObserversIsolated: an observer that blocks for good, registered
// first, starves neither a panicking observer nor a collector registered
// after it: each observer has its own queue, and only the blocked one
// drops events, counted against it.
func TestObserversIsolated(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var blockedCalls atomic.Int64
	blocked := atrion.ObserverFunc(func(atrion.Event) { blockedCalls.Add(1); <-block })
	p := &panicky{}
	col := sink.NewCollector(0)
	a, clk := atriontest.New(t, atrion.WithObserver(blocked), atrion.WithObserver(p), atrion.WithObserver(col))
	const ticks = 5000 // more than an observer's queue holds
	for i := range ticks {
		tk, _ := a.Admit("r", atrion.PriorityNormal)
		tk.Done(atrion.Success)
		clk.Advance(100 * time.Millisecond)
		if i%1000 == 999 { // in bursts the queues hold, so that the observers that keep up get all
			a.Snapshot("r")
			deadline := time.Now().Add(5 * time.Second)
			for (len(col.Events()) < i || p.calls.Load() < int64(i)) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	st := a.Stats()
	t.Logf("%d tick events: collector got %d, panicking observer called %d times (%d panics counted), blocked observer %d; drops %v",
		ticks, len(col.Events()), p.calls.Load(), st.ObserverPanics, blockedCalls.Load(), st.Observers)
	if len(col.Events()) < ticks || p.calls.Load() < ticks {
		t.Fatalf("the blocked observer starved the others: collector %d, panicking %d of %d events",
			len(col.Events()), p.calls.Load(), ticks)
	}
	if len(st.Observers) != 3 || st.Observers[0].Drops == 0 || st.Observers[1].Drops != 0 || st.Observers[2].Drops != 0 {
		t.Errorf("per-observer drops %+v: want drops on the blocked observer only", st.Observers)
	}
	if st.Observers[1].Panics != uint64(p.calls.Load()) || st.ObserverPanics != st.Observers[1].Panics {
		t.Errorf("panics %+v, total %d, calls %d", st.Observers, st.ObserverPanics, p.calls.Load())
	}
	if st.ObserverDrops != st.Observers[0].Drops {
		t.Errorf("total drops %d, the blocked observer's %d", st.ObserverDrops, st.Observers[0].Drops)
	}
}
