package atrion

import (
	"math"
	"sync"
)

// This file is the shared budget of routes that share a dependency (SPEC
// §3, the controller view). Per-route limits cannot protect a healthy
// route from a slow one that holds the workers of a pool they share: the
// healthy route's calls queue behind the slow one's, its latency rises far
// above its own no-load latency, and its own limit would shed it first.
// So routes in one group (by default every route of an engine: the
// service's own workers, CPU and pools) share out that queueing:
//
//   - Shared queueing is the latency excess every active member shows: q
//     = min over members of (latency − no-load latency): the wait every
//     member's calls share.
//   - It is the dearest member's to answer for: the one whose calls take
//     longest on their own (latency − q). Its limit sees its whole
//     latency; every other member's sees its latency less q, so no route
//     is shed for a queue another one causes, and a route whose dependency
//     is slow on its own still is.
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
	blame   *route        // the dearest active member, which answers for q
	pass    groupPass     // the recompute under way, if any
}

// groupPass is a recompute in progress. It visits at most groupPassVisits
// members per report, so that no tick close holds the group's lock for
// long however many members it has: a small group's pass ends in the
// report that starts it, a million members' within a few hundred reports.
type groupPass struct {
	phase    int     // 0: none; 1: the shared queueing; 2: who answers for it
	i        int     // next member to visit
	dtSec    float64 // since the pass before
	q        float64 // phase 1's min over active members of latency − no-load
	minFloor float64
	active   int
	dearest  float64
	blame    *route
}

// memberStats is what one member reported at its last tick close.
type memberStats struct {
	at        int64   // engine ns
	latencyMs float64 // NaN: no latency in that tick
	floorMs   float64
	inflight  float64
}

// report records member r's tick and returns the shared queueing to take
// out of its own latency (0 when the group has no shared queue or r is the
// member that answers for it), the shared queueing relative to the
// fastest member's no-load latency, and whether r answers for it. Caller
// holds r.mu (never g.mu first).
func (g *group) report(r *route, s memberStats, tickSec float64) (q, rel float64, answers bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.gi < 0 {
		if s.inflight < 1 {
			return 0, 0, false // idle routes stay out
		}
		r.gi = int32(len(g.members))
		g.members = append(g.members, r)
		g.stats = append(g.stats, memberStats{})
	}
	g.stats[r.gi] = s
	// a pass a tick, or for a big group one every so many ticks: its
	// members' own latencies dwarf what it adds to theirs
	every := tickSec * math.Max(1, float64(len(g.members))/groupPassPerTick)
	if dt := float64(s.at-g.last) / 1e9; g.pass.phase == 0 && dt >= every {
		g.last = s.at
		g.pass = groupPass{phase: 1, dtSec: dt, q: math.Inf(1), minFloor: math.Inf(1), dearest: -1}
	}
	if g.pass.phase != 0 {
		g.recompute(s.at)
	}
	if g.blame == r {
		return 0, g.rel, true
	}
	return g.q, g.rel, false
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
	r.gi = -1
	if g.blame == r {
		g.blame = nil
	}
	if g.pass.blame == r {
		g.pass.blame = nil
	}
}

// recompute goes on with the pass under way for at most groupPassVisits
// members, and ends it when it has seen them all: the shared queueing is
// the least excess over its no-load latency of any active member (phase
// 1), and it is the dearest active member's to answer for (phase 2).
// Caller holds g.mu.
func (g *group) recompute(now int64) {
	p := &g.pass
	for budget := groupPassVisits; budget > 0; budget-- {
		if p.i >= len(g.members) {
			if p.phase == 1 && p.active >= 2 {
				p.phase, p.i = 2, 0
				continue
			}
			g.endPass()
			return
		}
		s := &g.stats[p.i]
		age := float64(now-s.at) / 1e9
		switch {
		case p.phase == 1 && age > groupIdleSec:
			g.remove(g.members[p.i])
			continue // the last member took its place
		case p.phase == 1:
			if age <= groupActiveSec && !math.IsNaN(s.latencyMs) && s.floorMs > 0 {
				p.active++
				p.q = math.Min(p.q, math.Max(0, s.latencyMs-s.floorMs))
				p.minFloor = math.Min(p.minFloor, s.floorMs)
			}
		case age <= groupActiveSec && !math.IsNaN(s.latencyMs) && s.inflight >= 1:
			if own := s.latencyMs - p.q; own > p.dearest {
				p.dearest, p.blame = own, g.members[p.i]
			}
		}
		p.i++
	}
}

// endPass publishes a finished pass. Caller holds g.mu.
func (g *group) endPass() {
	p := &g.pass
	if p.active < 2 {
		g.q, g.rel, g.blame = 0, 0, nil
	} else {
		g.q += (1 - math.Exp(-p.dtSec/groupQueueSec)) * (p.q - g.q)
		g.rel = g.q / p.minFloor
		g.blame = p.blame
	}
	*p = groupPass{}
}
