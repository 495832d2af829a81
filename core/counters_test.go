package atrion

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// The route must stay in the 896-byte size class with its 8-byte malloc
// header: the next class is 1 KiB, 15 % more memory per tracked route.
func TestRouteSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(route{}); s+8 > 896 {
		t.Fatalf("route is %d bytes; with its malloc header it no longer fits the 896-byte size class", s)
	}
}

// Counts land on whichever stripe the goroutine hashes to; a tick close
// must see every one of them, before and after the route spreads.
func TestStripedCountsSum(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	// not the ManualClock itself, with which routes never spread
	a, err := New(WithClock(otherClock{clk}), WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	const workers, per = 8, 500 // 4000 decisions: the first tick spreads the route
	run := func() {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					tk, d := a.Admit("r", PriorityNormal)
					if !d.Allowed {
						t.Error("rejected on a healthy route")
						return
					}
					switch (w + i) % 4 {
					case 0:
						tk.Done(Failure)
					case 1:
						tk.Done(Ignored)
					default:
						tk.Done(Success)
					}
				}
			}()
		}
		wg.Wait()
	}
	r := a.lookup("r")
	run()
	clk.Advance(a.Tick())
	a.Snapshot("r") // closes the tick
	if runtime.GOMAXPROCS(0) > 1 && r.ctr.more.Load() == nil {
		t.Fatal("a route with 4000 decisions in a tick was not spread over stripes")
	}
	run()
	s, ok := a.Snapshot("r")
	if !ok {
		t.Fatal("no snapshot")
	}
	const n = 2 * workers * per
	got := s.Totals
	if got.Decisions != n || got.Admitted != n || got.Failures != n/4 || got.Ignored != n/4 || got.Successes != n/2 {
		t.Fatalf("totals %+v, want %d decisions: %d failures, %d ignored, %d successes", got, n, n/4, n/4, n/2)
	}
}

// otherClock is a manual clock the engine does not know as one.
type otherClock struct{ *ManualClock }

// With a ManualClock (simulations, tests) a route keeps one stripe, so its
// decisions do not depend on the machine's core count.
func TestManualClockDoesNotSpread(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	a, err := New(WithClock(clk), WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	for range 2 * stripeAt {
		tk, _ := a.Admit("r", PriorityNormal)
		tk.Done(Success)
	}
	clk.Advance(a.Tick())
	if s, _ := a.Snapshot("r"); s.Totals.Decisions != 2*stripeAt {
		t.Fatalf("%d decisions", s.Totals.Decisions)
	}
	if a.lookup("r").ctr.more.Load() != nil {
		t.Fatal("a route on a ManualClock spread over stripes")
	}
}
