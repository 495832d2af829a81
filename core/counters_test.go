package atrion

import (
	"context"
	"math"
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

// The base stripe, written by every request, starts a cache line (routes
// of the 896-byte class are 64-byte aligned) and shares it with nothing
// the hot path reads.
func TestRouteLayout(t *testing.T) {
	var r route
	base := unsafe.Offsetof(r.ctr) + unsafe.Offsetof(r.ctr.base)
	if base%64 != 0 || unsafe.Sizeof(r.ctr.base) != 64 {
		t.Fatalf("base stripe at offset %d, %d bytes: want a whole cache line", base, unsafe.Sizeof(r.ctr.base))
	}
	if hot := unsafe.Offsetof(r.ctr) + unsafe.Offsetof(r.ctr.block) + 8; hot > base {
		t.Fatalf("decision fields end at %d, past the base stripe at %d", hot, base)
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
	if stripes() == 0 {
		t.Skip("GOMAXPROCS 1: routes never spread, so there is nothing to hold back")
	}
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

// openRoute opens route id on a with failing, slow ticks.
func openRoute(t *testing.T, a *Atrion, clk *ManualClock, id string) {
	t.Helper()
	for range 200 {
		for range 300 {
			if tk, d := a.Admit(id, PriorityNormal); d.Allowed {
				tk.DoneLatency(Failure, time.Second)
			}
		}
		clk.Advance(a.Tick())
		if s, _ := a.Snapshot(id); s.Mode == ModeCircuitOpen {
			return
		}
	}
	t.Fatal("the route did not open")
}

// Rejections are counted on the stripes too: every one shows in the
// totals and in the tick's event, from many goroutines at once.
func TestStripedRejections(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	events := &eventLog{}
	a, err := New(WithClock(otherClock{clk}), WithObserver(events), WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	openRoute(t, a, clk, "r")
	if runtime.GOMAXPROCS(0) > 1 && a.lookup("r").ctr.more.Load() == nil {
		t.Fatal("the busy route was not spread")
	}
	before, _ := a.Snapshot("r")
	const workers, per = 8, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
				if _, d := a.Admit("r", PriorityNormal); d.Allowed || d.Reason != ReasonCircuitOpen {
					t.Errorf("decision %+v on an open circuit", d)
					return
				}
			}
		})
	}
	wg.Wait()
	after, _ := a.Snapshot("r")
	if got := after.Totals.Rejected.CircuitOpen - before.Totals.Rejected.CircuitOpen; got != workers*per {
		t.Fatalf("%d rejections counted, want %d", got, workers*per)
	}
	clk.Advance(a.Tick())
	a.Snapshot("r") // closes the tick
	a.Flush(context.Background())
	evs := events.Events()
	if last := evs[len(evs)-1]; last.Kind != EventTick || last.Shed != workers*per {
		t.Fatalf("last event %v shed %d, want a tick with %d shed", last.Kind, last.Shed, workers*per)
	}
}

// The 32-bit rejection counters wrap; tick deltas and totals do not.
func TestRejectionCounterWraps(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	events := &eventLog{}
	a, err := New(WithClock(clk), WithObserver(events), WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	openRoute(t, a, clk, "r")
	r := a.lookup("r")
	// as if 2³² − 3 circuit-open rejections had been counted and taken
	// into the totals already
	const near = math.MaxUint32 - 2
	i := ReasonCircuitOpen - 1
	r.mu.Lock()
	r.ctr.base.rej[i].Store(near)
	r.st.lastRej[i] = near
	base := r.st.rejTotal[ReasonCircuitOpen-1]
	r.mu.Unlock()
	for range 10 {
		if _, d := a.Admit("r", PriorityNormal); d.Allowed {
			t.Fatal("admitted on an open circuit")
		}
	}
	if got := r.ctr.base.rej[i].Load(); got >= near {
		t.Fatalf("counter %d did not wrap", got)
	}
	s, _ := a.Snapshot("r")
	if got := s.Totals.Rejected.CircuitOpen - base; got != 10 {
		t.Fatalf("%d rejections across the wrap, want 10", got)
	}
	clk.Advance(a.Tick())
	s, _ = a.Snapshot("r")
	if got := s.Totals.Rejected.CircuitOpen - base; got != 10 {
		t.Fatalf("after the tick closed: %d rejections, want 10", got)
	}
	a.Flush(context.Background())
	evs := events.Events()
	if last := evs[len(evs)-1]; last.Shed != 10 {
		t.Fatalf("tick across the wrap shed %d, want 10", last.Shed)
	}
}
