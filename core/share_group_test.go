package atrion

import (
	"context"
	"math"
	"testing"
	"time"
)

// feedGroup has every member report ticks of calls/s offered and served,
// with latency latMs over a no-load floorMs and inflight in flight, for
// sec seconds from *at; it returns each member's last share.
func feedGroup(g *group, rs []*route, st []memberStats, sec float64, at *int64) []float64 {
	shares := make([]float64, len(rs))
	for range int(sec * 10) {
		*at += 1e8
		for i, r := range rs {
			s := st[i]
			s.at, s.dtSec = *at, 0.1
			_, _, shares[i] = g.report(r, s, 0.1)
		}
	}
	return shares
}

// Equal routes over a full pool get equal shares of its capacity; weights
// divide it in proportion; a cheap route within its share is not capped
// below its bursts while an expensive one over its share is held under
// the pool's capacity.
func TestGroupSharesByCost(t *testing.T) {
	at := int64(1e9)
	// three equal 160 ms routes, each offered 32/s, each served 16/s, with
	// 4 in flight each (12 in all against 8 connections): a queue
	g := &group{}
	rs := []*route{{gi: -1}, {gi: -1}, {gi: -1}}
	eq := memberStats{latencyMs: 240, floorMs: 160, inflight: 4, offered: 3.2, served: 1.6, limited: true}
	sh := feedGroup(g, rs, []memberStats{eq, eq, eq}, 5, &at)
	if !g.shares.bound {
		t.Fatalf("the group does not bind: %+v", g.shares)
	}
	for i := 1; i < 3; i++ {
		// members report in turn, so each fill sees the others a tick apart
		if math.Abs(sh[i]-sh[0]) > 0.02*sh[0] || sh[0] <= 0 {
			t.Fatalf("equal routes got shares %v, want equal", sh)
		}
	}
	// weights 2:1:1, every route asking for far more than the pool
	g2 := &group{}
	rs2 := []*route{{gi: -1}, {gi: -1}, {gi: -1}}
	big := eq
	big.offered = 10
	w2 := big
	w2.weight = 2
	sh = feedGroup(g2, rs2, []memberStats{w2, big, big}, 5, &at)
	if r := sh[0] / sh[1]; math.Abs(r-2) > 0.05 {
		t.Fatalf("weights 2:1:1 got shares %v (ratio %.2f), want 2:1", sh, r)
	}
	// a 5 ms lookup (50/s) and a 200 ms report (60/s offered, 40/s served)
	// on 8 connections: the lookup keeps room for its bursts, the report
	// is held under the capacity
	g3 := &group{}
	rs3 := []*route{{gi: -1}, {gi: -1}}
	look := memberStats{latencyMs: 30, floorMs: 5, inflight: 1, offered: 5, served: 5}
	rep := memberStats{latencyMs: 225, floorMs: 200, inflight: 11, offered: 6, served: 4, limited: true}
	sh = feedGroup(g3, rs3, []memberStats{look, rep}, 5, &at)
	c := g3.shares.cap
	if !g3.shares.bound || sh[0] < 2 || sh[1] > c-1+1e-9 || sh[1] <= 0 {
		t.Fatalf("capacity %.2f, lookup share %.2f (want ≥ 2), report share %.2f (want ≤ capacity − 1)", c, sh[0], sh[1])
	}
}

// A group whose members show no shared queue never binds: routes that
// share no bottleneck keep their own limits.
func TestGroupWithoutQueueDoesNotBind(t *testing.T) {
	at := int64(1e9)
	g := &group{}
	rs := []*route{{gi: -1}, {gi: -1}}
	a := memberStats{latencyMs: 10, floorMs: 10, inflight: 2, offered: 50, served: 20}
	b := memberStats{latencyMs: 900, floorMs: 100, inflight: 40, offered: 50, served: 4, limited: true}
	sh := feedGroup(g, rs, []memberStats{a, b}, 5, &at)
	if g.shares.bound || sh[0] != 0 || sh[1] != 0 {
		t.Fatalf("bound %v, shares %v: want none", g.shares.bound, sh)
	}
}

// Every call slowing alike (a busy host) shows as a shared queue, but
// while everyone who asks is served and no route's own limit binds, the
// group does not bind: nothing is shed.
func TestGroupBusyHostDoesNotBind(t *testing.T) {
	at := int64(1e9)
	g := &group{}
	rs := []*route{{gi: -1}, {gi: -1}}
	// 20 ms and 50 ms routes slowed 2.5×, 8 and 4 calls/tick, all served
	a := memberStats{latencyMs: 50, floorMs: 20, inflight: 4, offered: 8, served: 8}
	b := memberStats{latencyMs: 125, floorMs: 50, inflight: 5, offered: 4, served: 4}
	sh := feedGroup(g, rs, []memberStats{a, b}, 5, &at)
	if g.shares.bound || sh[0] != 0 || sh[1] != 0 {
		t.Fatalf("bound %v, shares %v: want none", g.shares.bound, sh)
	}
	// the same while completions lag (the slowdown's first second) but no
	// route's own limit binds
	a.served, b.served = 5, 2
	sh = feedGroup(g, rs, []memberStats{a, b}, 2, &at)
	if g.shares.bound || sh[0] != 0 || sh[1] != 0 {
		t.Fatalf("lagging completions: bound %v, shares %v: want none", g.shares.bound, sh)
	}
}

// Route weights are validated: hostile values are errors naming the field.
func TestRouteWeightValidation(t *testing.T) {
	for _, w := range []float64{-1, math.NaN(), math.Inf(1), 1001} {
		_, err := New(WithClock(NewManualClock(time.Unix(0, 0))), WithRouteConfig("r", RouteConfig{Weight: w}))
		if err == nil {
			t.Fatalf("weight %v accepted", w)
		}
	}
	for _, w := range []float64{0, 0.5, 1000} {
		a, err := New(WithClock(NewManualClock(time.Unix(0, 0))), WithRouteConfig("r", RouteConfig{Weight: w}))
		if err != nil {
			t.Fatalf("weight %v: %v", w, err)
		}
		_ = a.Close(context.Background())
	}
}
