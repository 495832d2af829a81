package atrion

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// within fails the test unless f returns within limit: a call that waits
// on a lock the test holds never does.
func within(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s waited on a lock it must not wait on", what)
	}
}

// TestAdmitTakesNoSharedLock: Admit and Done on a tracked route complete
// while the table's lock and another route's lock are held, whether the
// route is in the table's snapshot or only in its overlay, and whether or
// not the call closes a tick.
func TestAdmitTakesNoSharedLock(t *testing.T) {
	clk := NewManualClock(time.Unix(0, 0))
	a, err := New(WithClock(clk), WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	serve := func(id string) {
		tk, d := a.Admit(id, PriorityNormal)
		if !d.Allowed {
			t.Errorf("%s rejected", id)
		}
		tk.Done(Success)
	}
	for i := range 2000 { // enough for a rebuild: most are in the snapshot
		serve("r" + strconv.Itoa(i))
	}
	waitFor(t, func() bool {
		a.routes.mu.Lock()
		defer a.routes.mu.Unlock()
		return !a.routes.building
	})
	serve("fresh") // in the overlay
	if a.routes.snap.Load().get(a.routes.hash("r1"), "r1") == nil || a.routes.cur.Load().get(a.routes.hash("fresh"), "fresh") == nil {
		t.Fatal("the test needs r1 in the snapshot and fresh in the overlay")
	}
	other := a.routes.tracked("r2")
	for _, id := range []string{"r1", "fresh"} {
		a.routes.mu.Lock()
		other.mu.Lock()
		within(t, 2*time.Second, "Admit+Done of "+id, func() { serve(id) })
		clk.Advance(100 * time.Millisecond)
		within(t, 2*time.Second, "a tick-closing Admit+Done of "+id, func() { serve(id) })
		other.mu.Unlock()
		a.routes.mu.Unlock()
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTableChurn: goroutines admit on a pool of IDs three times the cap
// while another evicts at random and rebuilds run; afterwards the table
// holds each route once, within the cap, every listed route is found by
// its ID, and Stats counts what Routes lists.
func TestTableChurn(t *testing.T) {
	const maxRoutes = 300
	a, err := New(WithMaxRoutes(maxRoutes), WithIdleTTL(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	ids := make([]string, 3*maxRoutes)
	for i := range ids {
		ids[i] = "GET /c/" + strconv.Itoa(i)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < 20_000; i++ {
				tk, d := a.Admit(ids[r.IntN(len(ids))], PriorityNormal)
				if d.Allowed {
					tk.Done(Success)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 9))
		for {
			select {
			case <-stop:
				return
			default:
				a.Evict(ids[r.IntN(len(ids))])
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	routes := a.Routes()
	if n := len(slices.Compact(slices.Clone(routes))); n != len(routes) {
		t.Fatalf("Routes lists %d IDs, %d of them distinct", len(routes), n)
	}
	st := a.Stats()
	if st.Routes != len(routes) || st.Routes > maxRoutes+1 {
		t.Fatalf("Stats().Routes %d, Routes() %d, cap %d (+1 overflow)", st.Routes, len(routes), maxRoutes)
	}
	for _, id := range routes {
		if _, ok := a.Snapshot(id); !ok {
			t.Fatalf("listed route %q not found by its ID", id)
		}
	}
	if st.Evictions == 0 {
		t.Fatal("nothing was evicted")
	}
}

// TestIdleSweepBounded: at the cap, a new route evicts a few idle routes
// (at most the headroom, from a bounded number of slots), not every idle
// one; each later new route finds room the same way.
func TestIdleSweepBounded(t *testing.T) {
	const maxRoutes = 1000
	clk := NewManualClock(time.Unix(0, 0))
	a, err := New(WithClock(clk), WithMaxRoutes(maxRoutes), WithIdleTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	for i := range maxRoutes {
		a.ReportOutcome("old"+strconv.Itoa(i), Outcome{})
	}
	clk.Advance(2 * time.Second)
	for i := range 40 {
		id := "new" + strconv.Itoa(i)
		a.ReportOutcome(id, Outcome{})
		if _, ok := a.Snapshot(id); !ok {
			t.Fatalf("new route %d found no room among idle routes", i)
		}
		if ev := a.Stats().Evictions; ev > uint64(a.headroom())*uint64(i+1) {
			t.Fatalf("%d evictions for %d new routes: the sweep evicts more than it needs", ev, i+1)
		}
		clk.Advance(100 * time.Millisecond) // the inline sweep runs once per tick
	}
	if st := a.Stats(); st.Routes > maxRoutes+1 || st.Routes < maxRoutes+1-a.headroom() {
		t.Fatalf("%d routes tracked, want the cap (+1 overflow) less at most the headroom %d", st.Routes, a.headroom())
	}
}

// TestBackgroundSweep: on the system clock, once a new route finds the
// table full, the background sweep frees headroom, so the new routes
// after it find room without sweeping.
func TestBackgroundSweep(t *testing.T) {
	const maxRoutes = 640 // headroom 10
	a, err := New(WithMaxRoutes(maxRoutes), WithIdleTTL(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	for i := range maxRoutes {
		a.ReportOutcome("old"+strconv.Itoa(i), Outcome{})
	}
	time.Sleep(a.tick + 50*time.Millisecond) // every route idle past its tick and the TTL
	a.ReportOutcome("first", Outcome{})
	waitFor(t, func() bool {
		a.routes.mu.Lock()
		defer a.routes.mu.Unlock()
		return !a.routes.sweeping && a.routes.freeLocked(maxRoutes) >= a.headroom()
	})
	before := a.Stats().Evictions
	for i := range a.headroom() {
		a.ReportOutcome("next"+strconv.Itoa(i), Outcome{})
	}
	if ev := a.Stats().Evictions; ev != before {
		t.Fatalf("%d evictions by new routes after the background sweep made room", ev-before)
	}
}
