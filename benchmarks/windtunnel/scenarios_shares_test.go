package windtunnel

import (
	"math"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func TestMeanService(t *testing.T) {
	h := Healthy(160 * ms) // σ 0.3: mean = median × e^0.045
	if got, want := meanService(h, 1), 0.160*math.Exp(0.045); math.Abs(got-want) > 1e-12 {
		t.Errorf("meanService = %v, want %v", got, want)
	}
	if got, want := meanService(h, 0), meanService(h, 1); got != want {
		t.Errorf("cost 0 means 1: %v, want %v", got, want)
	}
	if got, want := meanService(Healthy(5*ms), 40), meanService(Healthy(200*ms), 1); math.Abs(got-want) > 1e-12 {
		t.Errorf("cost 40 × 5 ms = %v, want 200 ms's %v", got, want)
	}
}

// banAfter is a guard that admits everything and, from a moment on, holds
// one client key banned: enough to see that the run records bans.
type banAfter struct {
	noGuard
	clk   *atrion.ManualClock
	from  time.Time
	route string
}

func (g banAfter) Banned(route string) bool { return route == g.route && !g.clk.Now().Before(g.from) }

// TestBansAreRecorded: a guard that bans keys is asked at the end of every
// bin for every route with a client key, and the check sees it; a guard
// that bans none is never banned.
func TestBansAreRecorded(t *testing.T) {
	sc := bigTenant()
	banned := Contestant{Name: "bans-big", New: func(env Env) (Guard, error) {
		return banAfter{clk: env.Clock, from: epoch.Add(30 * sec), route: "POST /api big"}, nil
	}}
	r := Run(t, sc, banned, 1)
	if got := r.BannedFor("POST /api big", r.All()); got < 89*sec || got > 91*sec {
		t.Errorf("big tenant banned for %v, want about 90 s (30 s–120 s)", got)
	}
	if got := r.BannedFor("POST /api s1", r.All()); got != 0 {
		t.Errorf("small tenant banned for %v, want 0", got)
	}
	if got := r.BannedFor("POST /api big", span(0, 29)); got != 0 {
		t.Errorf("big tenant banned for %v before the ban, want 0", got)
	}
	check := neverBanned("the big tenant", []string{"POST /api big"}, r.All())
	if seen, ok := check.Eval(r, nil); ok || !strings.HasPrefix(seen, "banned for") {
		t.Errorf("check passed on a banned tenant: %s", seen)
	}
	n := Run(t, sc, None, 1)
	if seen, ok := check.Eval(n, nil); !ok {
		t.Errorf("check failed without bans: %s", seen)
	}
}

// TestRoutePercentile: a route's latency is kept apart from the others'
// and by time: in hetero-cost without protection the lookups' healthy p99
// is near their 5 ms, the reports' near 200 ms, and the lookups' p99 in
// the spike is the queue's.
func TestRoutePercentile(t *testing.T) {
	r := Run(t, heteroCost(), None, 1)
	healthy := span(5, 20)
	if p := r.RoutePercentile("GET /lookup", healthy, 0.99); p < 5*ms || p > 20*ms {
		t.Errorf("lookup healthy p99 %v, want 5–20 ms", p)
	}
	if p := r.RoutePercentile("GET /report", healthy, 0.5); p < 150*ms || p > 250*ms {
		t.Errorf("report healthy p50 %v, want about 200 ms", p)
	}
	if p := r.RoutePercentile("GET /lookup", span(25, 50), 0.99); p < 500*ms {
		t.Errorf("lookup p99 in the spike %v, want the queue's (≥ 500 ms)", p)
	}
	if p := r.RoutePercentile("no such route", healthy, 0.99); p != 0 {
		t.Errorf("unknown route p99 %v, want 0", p)
	}
	if p := r.RoutePercentile("GET /lookup", Window{200 * sec, 300 * sec}, 0.99); p != 0 {
		t.Errorf("p99 outside the run %v, want 0", p)
	}
}

// TestShareChecksCanFail: each kind of check of the shared-capacity
// scenarios fails on a run that misses it and passes on one that meets it.
func TestShareChecksCanFail(t *testing.T) {
	sc := heteroCost()
	n := Run(t, sc, None, 1)
	in := span(22, 50)
	if seen, ok := servedShareOf("lookup", in, 0.95).Eval(n, nil); ok {
		t.Errorf("lookup served check passed without protection: %s", seen)
	}
	if seen, ok := servedShareOf("lookup", span(5, 20), 0.95).Eval(n, nil); !ok {
		t.Errorf("lookup served check failed while healthy: %s", seen)
	}
	if seen, ok := p99Within("GET /lookup", span(5, 20), in, 2).Eval(n, nil); ok {
		t.Errorf("p99 check passed without protection: %s", seen)
	}
	if seen, ok := p99Within("GET /lookup", span(5, 20), span(60, 80), 2).Eval(n, nil); !ok {
		t.Errorf("p99 check failed after the spike: %s", seen)
	}
	cs := []classCost{{"lookup", meanService(Healthy(5*ms), 1)}, {"report", meanService(Healthy(5*ms), 40)}}
	if seen, ok := busyAtLeast(cs, poolConns, in, 0.95).Eval(n, nil); ok {
		t.Errorf("capacity check passed without protection (the pool works for callers who left): %s", seen)
	}
	if seen, ok := jainAtLeast([]string{"lookup", "report"}, in, 0.95).Eval(n, nil); ok {
		t.Errorf("Jain check passed on unequal classes: %s", seen)
	}
}
