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
	if dt := float64(s.at-g.last) / 1e9; dt >= tickSec {
		g.recompute(s.at, dt)
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
}

// recompute estimates the shared queueing and who answers for it. Caller
// holds g.mu.
func (g *group) recompute(now int64, dtSec float64) {
	g.last = now
	q, minFloor := math.Inf(1), math.Inf(1)
	active := 0
	var blame *route
	dearest := -1.0
	for i := 0; i < len(g.members); i++ {
		s := &g.stats[i]
		age := float64(now-s.at) / 1e9
		if age > groupIdleSec {
			g.remove(g.members[i])
			i--
			continue
		}
		if age > groupActiveSec || math.IsNaN(s.latencyMs) || s.floorMs <= 0 {
			continue
		}
		active++
		q = math.Min(q, math.Max(0, s.latencyMs-s.floorMs))
		minFloor = math.Min(minFloor, s.floorMs)
	}
	if active < 2 {
		g.q, g.rel, g.blame = 0, 0, nil
		return
	}
	for i, s := range g.stats {
		if float64(now-s.at)/1e9 > groupActiveSec || math.IsNaN(s.latencyMs) || s.inflight < 1 {
			continue
		}
		if own := s.latencyMs - q; own > dearest {
			dearest, blame = own, g.members[i]
		}
	}
	g.q += (1 - math.Exp(-dtSec/groupQueueSec)) * (q - g.q)
	g.rel = g.q / minFloor
	g.blame = blame
}
