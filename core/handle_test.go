package atrion_test

import (
	"sync"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// A handle and Admit by ID act on one and the same route.
func TestHandleSharesTheRoute(t *testing.T) {
	a, _ := atriontest.New(t)
	h := a.Handle("GET /users/:id")
	if h.ID() != "GET /users/:id" {
		t.Fatalf("ID %q", h.ID())
	}
	if got := a.Routes(); len(got) != 1 { // only the overflow route: a handle alone tracks nothing
		t.Fatalf("routes before the first Admit: %v", got)
	}
	for i := range 10 {
		tk, d := h.Admit(atrion.PriorityNormal)
		if !d.Allowed {
			t.Fatalf("request %d rejected: %+v", i, d)
		}
		tk.Done(atrion.Failure)
		tk, _ = a.Admit("GET /users/:id", atrion.PriorityNormal)
		tk.Done(atrion.Success)
	}
	s, ok := a.Snapshot("GET /users/:id")
	if !ok {
		t.Fatal("route not tracked")
	}
	if s.Totals.Decisions != 20 || s.Totals.Failures != 10 || s.Totals.Successes != 10 {
		t.Fatalf("totals %+v, want 20 decisions, 10 failures, 10 successes", s.Totals)
	}
	if tk, _ := h.Admit(atrion.PriorityNormal); tk.Route() != "GET /users/:id" {
		t.Fatalf("ticket route %q", tk.Route())
	}
}

// An evicted route is tracked again through its handle, not counted on a
// route the engine no longer sees.
func TestHandleAfterEviction(t *testing.T) {
	a, _ := atriontest.New(t)
	h := a.Handle("r")
	tk, _ := h.Admit(atrion.PriorityNormal)
	tk.Done(atrion.Success)
	if !a.Evict("r") {
		t.Fatal("route not evicted")
	}
	if _, ok := a.Snapshot("r"); ok {
		t.Fatal("evicted route still tracked")
	}
	tk, d := h.Admit(atrion.PriorityNormal)
	if !d.Allowed {
		t.Fatalf("rejected: %+v", d)
	}
	tk.Done(atrion.Success)
	s, ok := a.Snapshot("r")
	if !ok {
		t.Fatal("the handle's Admit did not track the route again")
	}
	if s.Totals.Decisions != 1 || s.Totals.Successes != 1 {
		t.Fatalf("totals %+v, want the one request since the eviction", s.Totals)
	}
}

// A handle whose ID fell into the overflow route (table full) gets a route
// of its own once there is room.
func TestHandleLeavesOverflow(t *testing.T) {
	a, _ := atriontest.New(t, atrion.WithMaxRoutes(1))
	a.Admit("first", atrion.PriorityNormal)
	h := a.Handle("second")
	if tk, _ := h.Admit(atrion.PriorityNormal); tk.Route() != atrion.OverflowRoute {
		t.Fatalf("with the table full, the handle admitted on %q", tk.Route())
	}
	a.Evict("first")
	if tk, _ := h.Admit(atrion.PriorityNormal); tk.Route() != "second" {
		t.Fatalf("with room, the handle still admits on %q", tk.Route())
	}
	if _, ok := a.Snapshot("second"); !ok {
		t.Fatal("route not tracked")
	}
}

// Bad IDs through a handle go where Admit sends them.
func TestHandleBadIDs(t *testing.T) {
	a, _ := atriontest.New(t)
	for _, id := range []string{"", string(make([]byte, atrion.MaxRouteIDLen+1))} {
		tk, d := a.Handle(id).Admit(atrion.PriorityNormal)
		if !d.Allowed || tk.Route() != atrion.OverflowRoute {
			t.Fatalf("ID of %d bytes: allowed %v on %q, want the overflow route", len(id), d.Allowed, tk.Route())
		}
		tk.Done(atrion.Success)
	}
	if st := a.Stats(); st.InvalidIDs != 2 {
		t.Fatalf("invalid IDs counted %d, want 2", st.InvalidIDs)
	}
}

func TestHandleConcurrent(t *testing.T) {
	a, _ := atriontest.New(t)
	h := a.Handle("r")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				tk, _ := h.Admit(atrion.PriorityNormal)
				tk.Done(atrion.Success)
				a.Evict("r") // races the handle's lookups on purpose
			}
		}()
	}
	wg.Wait()
	if a.Stats().Evictions == 0 {
		t.Fatal("no evictions: the race was not exercised")
	}
	tk, d := h.Admit(atrion.PriorityNormal)
	if !d.Allowed || tk.Route() != "r" {
		t.Fatalf("after the races: allowed %v on %q", d.Allowed, tk.Route())
	}
	tk.Done(atrion.Success)
	if s, ok := a.Snapshot("r"); !ok || s.Totals.Successes == 0 {
		t.Fatalf("after the races the handle's route is not the tracked one (tracked %v, %+v)", ok, s.Totals)
	}
}

func TestHandleAllocs(t *testing.T) {
	a, _ := atriontest.New(t)
	h := a.Handle("GET /one")
	h.Admit(atrion.PriorityNormal)
	if n := testing.AllocsPerRun(10000, func() {
		tk, d := h.Admit(atrion.PriorityNormal)
		if d.Allowed {
			tk.Done(atrion.Success)
		}
	}); n != 0 {
		t.Fatalf("Handle.Admit+Done allocates %.2f times per run", n)
	}
}

func BenchmarkHandleAdmitDone(b *testing.B) {
	h := newBenchEngine(b).Handle("GET /users/:id")
	b.ReportAllocs()
	for b.Loop() {
		t, d := h.Admit(atrion.PriorityNormal)
		if d.Allowed {
			t.Done(atrion.Success)
		}
	}
}
