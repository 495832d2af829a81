package atrion

import (
	"math"
	"sync"

	"github.com/atrion-go/atrion/core/internal/law"
)

// This file is the shared budget of routes that share a dependency (SPEC
// §3, the controller view). Per-route limits cannot protect a healthy
// route from a slow or busy one that holds the workers of a pool they
// share: the healthy route's calls queue behind the other's, its latency
// rises far above its own no-load latency, and its own limit would shed
// it first. So routes in one group (by default every route of an engine:
// the service's own workers, CPU and pools) share out that queueing and
// the capacity behind it:
//
//   - Shared queueing is the latency excess every active member shows: q
//     = min over members of (latency − no-load latency): the wait every
//     member's calls share. Every member's own limit sees its latency
//     less q, so no route is cut for a queue others share, and a route
//     whose dependency is slow on its own still is.
//   - The group's capacity, in seats of the bottleneck, and each member's
//     fair share of it are share_group.go's: while the group binds, a
//     member over its share is shed down to it, and one within its share
//     is not shed at all.
//   - No member grows its limit into a shared queue: a latency within
//     tolerance only once q is taken out is no room to grow.
//
// A group with one active member changes nothing. Everything here runs
// when a member's tick closes, never per request.

const (
	groupActiveSec = 1    // a member that reported within this is active
	groupIdleSec   = 10   // a member silent this long leaves the group
	groupQueueSec  = 0.01 // the shared queueing follows the latest tick

	groupPassVisits  = 1024  // members a report visits at most, recomputing
	groupPassPerTick = 16384 // members a tick's pass covers at most: bigger groups pass less often
)

// group is the shared queueing of the routes in one group.
type group struct {
	mu      sync.Mutex
	members []*route      // route.gi indexes it, under mu
	stats   []memberStats // by member
	last    int64         // engine ns of the last recompute
	q       float64       // shared queueing, ms, smoothed
	rel     float64       // q relative to the lowest no-load latency of the active members
	pass    groupPass     // the recompute under way, if any
	shares  groupShares   // the members' fair shares of the group's capacity (share_group.go)
}

// groupPass is a recompute in progress. It visits at most groupPassVisits
// members per report, so that no tick close holds the group's lock for
// long however many members it has: a small group's pass ends in the
// report that starts it, a million members' within a few hundred reports.
type groupPass struct {
	phase    int     // 0: none; 1: the shared queueing
	i        int     // next member to visit
	dtSec    float64 // since the pass before
	q        float64 // the min over active members of latency − no-load
	minFloor float64
	active   int
}

// memberStats is what one member reported at its last tick close.
type memberStats struct {
	at        int64   // engine ns
	latencyMs float64 // NaN: no latency in that tick
	floorMs   float64
	inflight  float64
	dtSec     float64 // the tick's length
	offered   float64 // requests in the tick: admitted and shed
	served    float64 // calls that ended in the tick with an answer: successes and failures
	weight    float64 // the route's weight in the group's shares (RouteConfig.Weight)
	limited   bool    // the route's own limit shed in the tick
}

// report records member r's tick and returns the shared queueing to take
// out of its own latency (0 when the group has no shared queue), the
// shared queueing relative to the fastest member's no-load latency, and
// r's share of the group's capacity in calls in flight (0: none, the
// group does not bind). Caller holds r.mu (never g.mu first).
func (g *group) report(r *route, s memberStats, tickSec float64) (q, rel, share float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.gi < 0 {
		if s.inflight < 1 {
			return 0, 0, 0 // idle routes stay out
		}
		r.gi = int32(len(g.members))
		g.members = append(g.members, r)
		g.stats = append(g.stats, memberStats{})
		g.shares.join()
	}
	g.stats[r.gi] = s
	g.shares.observe(int(r.gi), &s, g.q)
	// a pass a tick, or for a big group one every so many ticks: its
	// members' own latencies dwarf what it adds to theirs
	every := tickSec * math.Max(1, float64(len(g.members))/groupPassPerTick)
	if dt := float64(s.at-g.last) / 1e9; g.pass.phase == 0 && dt >= every {
		g.last = s.at
		g.pass = groupPass{phase: 1, dtSec: dt, q: math.Inf(1), minFloor: math.Inf(1)}
	}
	if g.pass.phase != 0 {
		g.recompute(s.at)
	}
	return g.q, g.rel, g.shares.of(int(r.gi))
}

// leave removes r from the group.
func (g *group) leave(r *route) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.remove(r)
}

func (g *group) remove(r *route) {
	i := int(r.gi)
	if i < 0 || i >= len(g.members) || g.members[i] != r {
		return
	}
	last := len(g.members) - 1
	g.members[i], g.stats[i] = g.members[last], g.stats[last]
	g.members[i].gi = int32(i)
	g.members, g.stats = g.members[:last], g.stats[:last]
	g.shares.remove(i)
	r.gi = -1
}

// recompute goes on with the pass under way for at most groupPassVisits
// members, and ends it when it has seen them all: the shared queueing is
// the least excess over its no-load latency of any active member. Caller
// holds g.mu.
func (g *group) recompute(now int64) {
	p := &g.pass
	for budget := groupPassVisits; budget > 0; budget-- {
		if p.i >= len(g.members) {
			g.endPass(now)
			return
		}
		s := &g.stats[p.i]
		age := float64(now-s.at) / 1e9
		if age > groupIdleSec {
			g.remove(g.members[p.i])
			continue // the last member took its place
		}
		if age <= groupActiveSec && !math.IsNaN(s.latencyMs) && s.floorMs > 0 {
			p.active++
			p.q = math.Min(p.q, math.Max(0, s.latencyMs-s.floorMs))
			p.minFloor = math.Min(p.minFloor, s.floorMs)
		}
		p.i++
	}
}

// endPass publishes a finished pass: the shared queueing, and the
// members' shares of the group's capacity. Caller holds g.mu.
func (g *group) endPass(now int64) {
	p := &g.pass
	if p.active < 2 {
		g.q, g.rel = 0, 0
	} else {
		g.q += (1 - math.Exp(-p.dtSec/groupQueueSec)) * (p.q - g.q)
		g.rel = g.q / p.minFloor
	}
	g.shares.fill(now, p.dtSec, p.active >= 2 && g.rel >= law.GroupQueued, g.stats)
	*p = groupPass{}
}
