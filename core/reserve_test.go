package atrion_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// fillWithFailingJunk fills a's table with n junk routes that fail, then
// sends more failing junk into the overflow route until its circuit opens.
func fillWithFailingJunk(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, n int) {
	t.Helper()
	for tick := range 40 {
		for i := range n + 20 {
			tk, d := a.Admit(fmt.Sprintf("GET /junk/%d", i), atrion.PriorityNormal)
			if d.Allowed {
				tk.Done(atrion.Failure)
			}
		}
		clk.Advance(100 * time.Millisecond)
		if s, _ := a.Snapshot(atrion.OverflowRoute); s.Mode == atrion.ModeCircuitOpen && tick > 2 {
			return
		}
	}
	s, _ := a.Snapshot(atrion.OverflowRoute)
	t.Fatalf("the overflow route did not open: %v", s.Mode)
}

// TestOverflowPoisoning: once failing junk has filled the table and opened
// the overflow route's circuit, a legitimate route first seen afterwards
// lands in the overflow route and is refused, unless it holds a reserved
// slot, reserved before the junk came or after.
func TestOverflowPoisoning(t *testing.T) {
	const maxRoutes = 50
	for _, tc := range []struct {
		name           string
		before, after  bool // reserve before the junk, after it
		wantAdmittedGE int
	}{
		{"not reserved", false, false, 0},
		{"reserved up front", true, false, 100},
		{"reserved once the table is full", false, true, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := atriontest.New(t, atrion.WithMaxRoutes(maxRoutes),
				atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
			const legit = "GET /checkout"
			if tc.before {
				if err := a.Reserve(legit); err != nil {
					t.Fatal(err)
				}
			}
			fillWithFailingJunk(t, a, clk, maxRoutes)
			if tc.after {
				if err := a.Reserve(legit); err != nil {
					t.Fatal(err)
				}
			}
			admitted := 0
			for range 100 {
				tk, d := a.Admit(legit, atrion.PriorityNormal)
				if d.Allowed {
					admitted++
					tk.Done(atrion.Success)
				}
			}
			_, tracked := a.Snapshot(legit)
			st := a.Stats()
			t.Logf("legit route admitted %d/100 (own route: %v); routes %d, reserved %d, overflow hits %d",
				admitted, tracked, st.Routes, st.Reserved, st.OverflowHits)
			if tc.wantAdmittedGE == 0 {
				if tracked {
					t.Errorf("an unreserved route past the cap got its own slot")
				}
				return
			}
			if admitted < tc.wantAdmittedGE || !tracked {
				t.Errorf("reserved route admitted %d/100, tracked %v", admitted, tracked)
			}
			// the reserved slot is held: junk cannot take it back
			if st.Routes > maxRoutes+2 {
				t.Errorf("%d routes tracked, cap %d", st.Routes, maxRoutes)
			}
		})
	}
}

// TestReserve: reservations hold slots within the cap, survive idle
// eviction, and refuse bad IDs and more reservations than the cap.
func TestReserve(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithMaxRoutes(3), atrion.WithIdleTTL(time.Second))
	for _, bad := range []string{"", strings.Repeat("x", atrion.MaxRouteIDLen+1), atrion.OverflowRoute} {
		if err := a.Reserve(bad); err == nil {
			t.Errorf("Reserve(%.20q) accepted", bad)
		}
	}
	if err := a.Reserve("a", "b", "a"); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().Reserved; got != 2 {
		t.Fatalf("reserved %d, want 2 (a repeat is one reservation)", got)
	}
	if len(a.Routes()) != 1 { // the overflow route: a reservation tracks nothing yet
		t.Fatalf("routes %v before any request", a.Routes())
	}
	// one free slot left for unreserved routes
	a.Admit("x", atrion.PriorityNormal)
	a.Admit("y", atrion.PriorityNormal)
	if _, ok := a.Snapshot("y"); ok {
		t.Error("an unreserved route took a reserved slot")
	}
	a.Admit("a", atrion.PriorityNormal)
	clk.Advance(2 * time.Second) // a and x are idle past the TTL
	a.Admit("z", atrion.PriorityNormal)
	if _, ok := a.Snapshot("a"); !ok {
		t.Error("idle eviction took a reserved route")
	}
	if _, ok := a.Snapshot("z"); !ok {
		t.Error("the idle unreserved route was not evicted for a new one")
	}
	if err := a.Reserve("c", "d"); err == nil {
		t.Error("more reservations than the cap accepted")
	}
	if !a.Evict("a") {
		t.Fatal("Evict(a)")
	}
	a.Admit("a", atrion.PriorityNormal) // the slot stays reserved after Evict
	if _, ok := a.Snapshot("a"); !ok {
		t.Error("an evicted reserved route lost its slot")
	}
}
