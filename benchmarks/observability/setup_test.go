package observability

import (
	"testing"

	"github.com/atrion-go/atrion/benchmarks/internal/rig"
)

// TestScrapersReadEveryRoute checks that each scrape benchmark reads every
// route's series (the OpenTelemetry SDK's cardinality limit is lifted), so
// none measures a truncated scrape.
func TestScrapersReadEveryRoute(t *testing.T) {
	const n = 2500 // above the SDK's default limit of 2,000
	a := newEngine(t, rig.RouteIDs(n))
	// per route (not the overflow route, idle): 12 plain gauges (the 4
	// capacity gauges among them), 3 pressure, 4 mode, 7 decision (key
	// shares' and deadlines' among them) and 3 outcome series, no transitions (the routes
	// skip bootstrap); and the engine's 10 series and its bans' 5
	const perRoute, engine = 12 + 3 + 4 + 7 + 3, 10 + 5
	for _, s := range scrapers[1:] {
		got := s.setup(t, a)()
		if want := n*perRoute + engine; got != want {
			t.Errorf("%s: %d series, want %d", s.name, got, want)
		}
	}
}

// TestAttachedHotPathZeroAllocs pins 0 allocs/op for Admit + Done with
// everything attached, as BenchmarkHotPath measures it.
func TestAttachedHotPathZeroAllocs(t *testing.T) {
	ids := rig.RouteIDs(1000)
	a := setupHotPath(t, hotPaths[1], ids)
	i := 0
	allocs := testing.AllocsPerRun(5000, func() {
		if !rig.AdmitDone(a, ids[i%len(ids)]) {
			t.Fatalf("request %d rejected on a healthy engine", i)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("attached: Admit+Done allocates %.2f times per request", allocs)
	}
}
