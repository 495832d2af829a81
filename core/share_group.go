package atrion

import (
	"math"

	"github.com/atrion-go/atrion/core/internal/law"
)

// Fair shares of a group's capacity (issue 28; docs/design/fair-shares.md).
// The routes of a group share a bottleneck: a pool's connections, a
// service's workers. A call holds it for about its route's own service
// time (its latency less the shared queueing), so a 200 ms report costs
// forty 5 ms lookups. Once per pass, under the group's lock:
//
//   - Seats in service: S = Σ completions/s × cost over the active
//     members (Little's law): how much of the bottleneck is busy working.
//   - Capacity C, learned: while a shared queue shows, the bottleneck is
//     full and C follows S; while none does, C only rises (to S, and
//     slowly beyond while shares bind, to find capacity that was not in
//     use), so capping the routes cannot talk it down.
//   - The group binds when a shared queue shows while the members'
//     demand (offered/s × cost) exceeds C and goes unmet (offered above
//     1.05 × served) while some member's own limit sheds: every call
//     slowing alike on a busy host looks like a shared queue, but serves
//     everyone and fills no limit. It stays bound while the demand stays
//     above 0.9 C.
//   - While it binds, C is divided by weighted max-min (twoPassFill: the
//     newest growth goes unserved first). A member within its share keeps
//     room for its bursts and is not shed; the members over their shares
//     share what the others leave: C plus a queue allowance of √C when
//     every member is over its share, C less the others' rounded-up
//     demand when some are within theirs, so that no queue forms that a
//     member within its share would wait in.
//
// A member's share, in calls in flight, caps its limit (storeDecision);
// its own limit still reacts to its own slowness.

const (
	shareDemandSec = 1    // smoothing of offered and completed calls per second
	shareCostSec   = 3    // smoothing of a call's cost
	shareSlowSec   = 10   // the incumbent demand: newest growth is shed first
	shareFollowSec = 1    // capacity follows the seats in service while queued
	shareIdleSec   = 10   // capacity decays toward the seats in service while unbound
	shareProbe     = 0.05 // capacity grows by this share per second while bound without a queue
	shareUnmet     = 1.05 // a group binds only while it is offered more than this × what it serves
	shareRelease   = 0.9  // a bound group is released when demand falls below this share of capacity
	groupFillMax   = 4096 // groups with more members get no shares: a fill is O(n log n) under the lock
)

// groupShares are the fair shares of one group's capacity. Caller holds
// the group's mu throughout.
type groupShares struct {
	members []memberShare // by member, as group.members
	cap     float64       // learned capacity, seats; 0: not yet
	bound   bool
	// the fill's scratch, reused
	d, slow, w, out []float64
	dm, sm, om      []float64 // the demands of the members over their shares, and their shares
	sc              fillScratch
}

// memberShare is one member's demand and share.
type memberShare struct {
	offered, slow float64 // offered calls/s over ~1 s and ~10 s
	thr           float64 // calls/s ended, ~1 s
	cost          float64 // seconds a call holds the bottleneck: own latency, smoothed
	weight        float64
	share         float64 // calls in flight; 0: none
}

func (gs *groupShares) join() { gs.members = append(gs.members, memberShare{}) }

// remove drops member i, the last taking its place (as group.remove).
func (gs *groupShares) remove(i int) {
	last := len(gs.members) - 1
	gs.members[i] = gs.members[last]
	gs.members = gs.members[:last]
}

// of returns member i's share in calls in flight, 0 for none.
func (gs *groupShares) of(i int) float64 {
	if !gs.bound || i < 0 || i >= len(gs.members) {
		return 0
	}
	return gs.members[i].share
}

// observe folds member i's tick into its demand: q is the group's
// shared queueing (ms), which its calls spend waiting, not holding.
func (gs *groupShares) observe(i int, s *memberStats, qMs float64) {
	m := &gs.members[i]
	dt := s.dtSec
	if !(dt > 0) {
		return
	}
	a := 1 - math.Exp(-dt/shareDemandSec)
	m.offered += a * (s.offered/dt - m.offered)
	m.thr += a * (s.served/dt - m.thr)
	m.slow += (1 - math.Exp(-dt/shareSlowSec)) * (s.offered/dt - m.slow)
	m.weight = s.weight
	if !math.IsNaN(s.latencyMs) && s.floorMs > 0 {
		// one tick's mean of a few calls is noisy, and the shared queueing
		// it is corrected by lags: within [1, 2] × the no-load latency,
		// smoothed over a few seconds
		own := math.Min(2*s.floorMs, math.Max(s.floorMs, s.latencyMs-qMs)) / 1000
		if m.cost == 0 {
			m.cost = own
		}
		m.cost += (1 - math.Exp(-dt/shareCostSec)) * (own - m.cost)
	}
}

// fill learns the capacity from the members' last ticks and, while the
// group binds, divides it. queued: a shared queue shows.
func (gs *groupShares) fill(now int64, dtSec float64, queued bool, stats []memberStats) {
	n := len(gs.members)
	if n > groupFillMax || !(dtSec > 0) {
		gs.bound = false
		return
	}
	gs.d, gs.slow, gs.w, gs.out = grown(gs.d, n), grown(gs.slow, n), grown(gs.w, n), grown(gs.out, n)
	// active: members that reported within a second (a tick without a
	// latency sample still counts: a quiet tick of a fast route must not
	// lift every share)
	seats, demand, inflight, active := 0.0, 0.0, 0.0, 0
	offered, served, limited := 0.0, 0.0, false
	for i := range gs.members {
		m := &gs.members[i]
		gs.d[i], gs.slow[i], gs.w[i] = 0, 0, m.weight
		if float64(now-stats[i].at)/1e9 > groupActiveSec || m.cost <= 0 {
			continue
		}
		seats += m.thr * m.cost
		inflight += stats[i].inflight
		offered += m.offered
		limited = limited || stats[i].limited
		served += m.thr
		active++
		gs.d[i], gs.slow[i] = m.offered*m.cost, m.slow*m.cost
		demand += gs.d[i]
	}
	// a queue shows only where calls wait: more in flight than in service
	// (Little), by more than one call and half the queue allowance; a
	// fast route's jitter over its no-load latency is no queue
	queued = queued && inflight-seats >= 1+math.Sqrt(math.Max(gs.cap, seats))/2
	switch {
	case gs.cap == 0 || !gs.bound:
		gs.cap = math.Max(seats, gs.cap+(1-math.Exp(-dtSec/shareIdleSec))*(seats-gs.cap))
		// a group binds only while demand goes unmet and a member's own
		// limit binds: every call slowing alike (a busy host) shows as a
		// shared queue too, but serves everyone who asks
		gs.bound = queued && demand > gs.cap && offered > shareUnmet*served+1 && limited
	case queued:
		gs.cap += (1 - math.Exp(-dtSec/shareFollowSec)) * (seats - gs.cap)
	default:
		gs.cap = math.Max(gs.cap, seats) * (1 + shareProbe*dtSec)
	}
	if gs.bound && demand < shareRelease*gs.cap {
		gs.bound = false
	}
	if active < 2 {
		gs.bound = false
	}
	if !gs.bound || !(gs.cap > 0) {
		return
	}
	c := gs.cap
	// plain max-min first: a member whose demand is within its fair share
	// gets all of it, whatever the others' history; the members over
	// their shares then share what is left, the newest growth shed first
	if cap(gs.sc.order) < n {
		gs.sc.order = make([]int, 0, n)
	}
	waterFill(c, gs.d, gs.w, gs.out, gs.sc.order)
	gs.dm, gs.sm, gs.om = grown(gs.dm, n), grown(gs.sm, n), grown(gs.om, n)
	within, over := 0.0, false
	for i := range n {
		gs.dm[i], gs.sm[i] = 0, 0
		switch {
		case gs.d[i] > 0 && gs.out[i] >= gs.d[i]*(1-1e-9):
			within += gs.d[i]
		case gs.d[i] > 0:
			gs.dm[i], gs.sm[i], over = gs.d[i], gs.slow[i], true
		}
	}
	if over {
		// with members within their shares, the others share C less the
		// within members' rounded-up demand: no queue for those to wait in
		left := c + math.Sqrt(c) - within
		if within > 0 {
			left = c - math.Ceil(within)
		}
		twoPassFill(math.Max(0, left), gs.dm, gs.sm, gs.w, gs.om, &gs.sc)
		for i := range n {
			if gs.dm[i] > 0 {
				gs.out[i] = gs.om[i]
			}
		}
	}
	wsum := 0.0
	for i := range n {
		if gs.d[i] > 0 {
			wsum += shareWeight(gs.w, i)
		}
	}
	for i := range n {
		m := &gs.members[i]
		d, s := gs.d[i], gs.out[i]
		switch {
		case d <= 0:
			m.share = 0 // not active: its own limit decides until it reports again
		case gs.dm[i] == 0:
			// within its share: room for its bursts, up to its guarantee
			guarantee := c * shareWeight(gs.w, i) / wsum
			m.share = math.Max(s, math.Min(math.Max(guarantee, d), d+burst(d)))
		default:
			m.share = math.Max(s, law.LimitMin)
		}
	}
}
