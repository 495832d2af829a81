package atrion

import (
	"github.com/atrion-go/atrion/core/internal/law"
	"math"
	"time"
)

// A route's tick close, one way: take the tick's counters → a pure physics
// step → the mode machine → learn (limit, tuner, floor) → publish the
// decision state → events.

// closeEndedTicks closes the ticks that ended at or before now: one load
// when none has.
func (r *route) closeEndedTicks(now int64) {
	if now >= r.tickEnd.Load() {
		r.closeEndedTicksNow(now)
	}
}

// closeEndedTicksNow closes every tick that has ended by now: the data tick with its
// aggregate, then any silent gap as one step. It is the only writer of the
// decision state.
func (r *route) closeEndedTicksNow(now int64) {
	var evs [4]Event // up to two per closeTick: the tick and a transition
	n, enqueue := r.closeEndedTicksLocked(now, &evs)
	for i := range evs[:n] {
		r.env.emit(evs[i])
		if evs[i].Kind == EventTransition && r.env.audit != nil {
			r.env.audit(r.auditTransition(&evs[i]))
		}
	}
	if enqueue {
		r.env.enqueue(r)
	}
}

// closeEndedTicksLocked closes the ended ticks under mu; the deferred unlock keeps
// a route from ever staying locked, whatever happens inside.
func (r *route) closeEndedTicksLocked(now int64, evs *[4]Event) (n int, enqueue bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.tickEnd.Load()
	if now < end {
		return 0, false
	}
	r.takeConfig()
	st := &r.st
	tick := int64(r.env.tick)
	n += r.closeTick(end, time.Duration(end-st.lastEnd), true, evs[n:])
	next := end + tick
	if now >= next {
		gap := (now - end) / tick
		next = end + (gap+1)*tick
		n += r.closeTick(end+gap*tick, time.Duration(gap*tick), false, evs[n:])
	}
	r.tickEnd.Store(next)
	// publish on change (sync_news.go): a quiet route costs the provider
	// nothing, and the hot path pays only for news
	enqueue = !st.queued && st.news(r.env.tick, r.env.clock.wall)
	st.queued = st.queued || enqueue
	return n, enqueue
}

// tickCounts are one tick's counters, taken from the stripes.
type tickCounts struct {
	decisions, admitted uint64
	rej                 [numReasons]uint64
	succ, fail          float64 // calls (fractional from Route)
	ign, slow           uint64
	latSum              int64
	latN                uint64
	peak                float64 // highest in-flight the hot path saw
	reported            bool
	// keyShare: requests refused for their key's share (ReasonKeyShare),
	// which no stripe counts: they never became the route's decisions
	keyShare uint64
}

// take reads the tick's counters and resets the per-tick ones. Caller
// holds mu.
func (r *route) take() (c tickCounts) {
	st := &r.st
	tot := r.ctr.totals()
	var rejAll uint64
	for i, v := range tot.rej {
		d := uint64(v - st.lastRej[i]) // modulo 2³²
		c.rej[i+1] = d
		rejAll += d
		st.lastRej[i] = v
		st.rejTotal[i] += d
	}
	c.decisions = tot.seq - st.lastSeq
	c.admitted = c.decisions - min(c.decisions, rejAll)
	c.succ = float64(tot.succ-st.lastSucc) / failUnit
	c.fail = float64(tot.fail-st.lastFail) / failUnit
	c.ign, c.slow = uint64(tot.ign-st.lastIgn), uint64(tot.slow-st.lastSlow)
	st.lastSeq, st.lastSucc, st.lastFail, st.lastIgn, st.lastSlow = tot.seq, tot.succ, tot.fail, tot.ign, tot.slow
	st.ignTotal += c.ign
	st.slowTotal += c.slow
	c.latSum, c.latN = r.ctr.takeLatency()
	c.peak = float64(r.ctr.base.peak.Swap(0))
	c.reported = r.reported.Swap(false)
	if ks := r.keys.Load(); ks != nil {
		v := ks.rejected.Load()
		c.keyShare, ks.lastRej = v-ks.lastRej, v
	}
	return c
}

// inflightNow is the route's requests in flight, summed over its stripes,
// less leaked tickets written off (misuse.go), never below zero (a Done
// on a copy of a Ticket counts twice). Caller holds mu.
func (r *route) inflightNow() float64 {
	raw := r.rawInflight()
	return max(0, raw-r.leakCorrection(raw))
}

// staleInflight estimates the requests still in flight past the latency
// baseline (SPEC §3.10): at least those beyond the admissions of the last
// baseline's worth of ticks; their mean age, from the admission rate.
func (st *routeState) staleInflight(inflight, baselineMs, tickMs float64) (n, ageMs float64) {
	k := max(1, int(math.Ceil(baselineMs/tickMs)))
	var recent float64
	for i := range min(k, len(st.admits)) {
		recent += float64(st.admits[(int(st.admitAt)-1-i+2*len(st.admits))%len(st.admits)])
	}
	if k > len(st.admits) {
		recent *= float64(k) / float64(len(st.admits))
	}
	n = inflight - recent
	if n <= 0 {
		return 0, 0
	}
	return n, baselineMs + 0.5*n*float64(k)*tickMs/math.Max(1, recent)
}

// telemetry aggregates a tick into the physics' input: the mean latency of
// its calls (the stale in-flight included), the Wilson lower bound of its
// error rate (one error in ten calls is not trauma, one in one is) and the
// mean saturation. NaN components carry no evidence.
func (r *route) telemetry(c *tickCounts, stale, staleAgeMs float64) (tel law.Telemetry, samples bool) {
	tel = law.Telemetry{LatencyMs: math.NaN(), ErrorRate: math.NaN(), Saturation: math.NaN()}
	calls := c.succ + c.fail
	done := calls + float64(c.slow)
	if done <= 0 && stale <= 0 {
		return tel, false
	}
	if calls > 0 {
		tel.ErrorRate = law.WilsonLower(c.fail, calls)
	}
	switch {
	case c.latN > 0:
		mean := float64(c.latSum) / float64(c.latN) / 1e6
		tel.LatencyMs = (mean*done + staleAgeMs*stale) / (done + stale)
	case stale > 0:
		tel.LatencyMs = staleAgeMs
	}
	if n := r.satN.Swap(0); n > 0 {
		tel.Saturation = float64(r.satSum.Swap(0)) / 1e6 / float64(n)
	}
	if f := r.env.saturation; f != nil && done > 0 {
		tel.Saturation = r.env.readSaturation(f)
	}
	return tel, true
}

// closeTick closes one tick for the interval ending at end, one way
// through: the tick's counters → the control law (law.State.Close, once)
// → the decision state the hot path reads → events. data is false for a
// silent gap. It writes up to two events into evs and returns how many.
func (r *route) closeTick(end int64, dt time.Duration, data bool, evs []Event) int {
	st := &r.st
	t := law.Tick{End: end, Dt: dt, Tick: r.env.tick, Data: data, PeerOpen: st.peerOpen}
	var c tickCounts
	if data {
		c = r.aggregate(&t)
		r.share = 0 // the group's report gives it again while the group binds
	}
	// a key refused its share is demand the route's limit did not meet,
	// as a request the limit shed is
	if shed := c.rej[ReasonShed] + c.keyShare; st.demand != nil || shed > 0 {
		if st.demand == nil {
			st.demand = new(demandWindow)
		}
		st.demand.add(c.admitted, shed, max(int64(dt/r.env.tick), 1))
	}
	var g law.Sharer
	if r.grp != nil {
		g = r
	}
	from, trauma := st.Close(&t, g)
	prevMode := Mode(from)
	st.peerOpen = false
	m := st.mode()
	if data {
		r.fillKeyShares(&t, c.rej[ReasonShed], c.keyShare)
		r.stripes(&c, m)
	}
	st.lastEnd = end
	if trauma || prevMode != m {
		st.evidenceAt = r.env.clock.wall(end)
	}
	if t.Samples {
		st.ticks++
	}
	r.storeDecision(end)
	return r.events(end, dt, prevMode, &c, t.Samples, evs)
}

// aggregate takes the tick's counters into t: the physics' telemetry and
// what the limit learns from. Caller holds mu.
func (r *route) aggregate(t *law.Tick) (c tickCounts) {
	st := &r.st
	c = r.take()
	st.inflight = r.watchLeaks(t.End, &c)
	st.admits[st.admitAt%uint8(len(st.admits))] = uint32(min(c.admitted, math.MaxUint32))
	st.admitAt = (st.admitAt + 1) % uint8(len(st.admits))
	stale, age := st.staleInflight(st.inflight, st.Baseline(), float64(r.env.tick)/1e6)
	t.Tel, t.Samples = r.telemetry(&c, stale, age)
	t.Succ, t.Fail, t.Slow = c.succ, c.fail, float64(c.slow)
	t.Peak, t.Inflight, t.Shed, t.Reported = c.peak, st.inflight, c.rej[ReasonShed]+c.keyShare, c.reported
	t.Admitted, t.Limit, t.Decisions = float64(c.admitted), r.limit(), c.decisions
	r.closeDeadlines(t) // callers' deadlines: the limit's patience, and what admission by them reads (deadline.go)
	return c
}

// Share reports the route's tick to its group (law.Sharer) and takes the
// route's share of the group's capacity from it.
func (r *route) Share(f law.ShareFacts) (queueMs, shared float64) {
	var share float64
	queueMs, shared, share = r.grp.report(r, memberStats{at: f.End, latencyMs: f.LatencyMs, floorMs: f.FloorMs,
		inflight: f.Inflight, dtSec: f.DtSec, offered: f.Offered, served: f.Served,
		weight: float64(r.st.Weight), limited: f.Limited}, f.TickSec)
	r.share = float32(share)
	return queueMs, shared
}

// events builds the tick's event and, on a mode change, the transition's.
// Caller holds mu.
func (r *route) events(end int64, dt time.Duration, prevMode Mode, c *tickCounts, samples bool, evs []Event) int {
	st := &r.st
	m := st.mode()
	k := 0
	if samples || c.decisions > 0 || st.Scar > 0 || prevMode != m {
		ev := r.event(EventTick, end, dt, prevMode)
		ev.Admitted, ev.Succeeded, ev.Failed, ev.Ignored, ev.Slow = c.admitted, uint64(math.Round(c.succ)), uint64(math.Round(c.fail)), c.ign, c.slow
		for _, v := range c.rej {
			ev.Shed += v
		}
		ev.Shed += c.keyShare
		if c.latN > 0 {
			ev.Latency = time.Duration(c.latSum / int64(c.latN))
		}
		evs[k] = ev
		k++
	}
	if prevMode != m {
		st.byMode[prevMode][m]++
		evs[k] = r.event(EventTransition, end, dt, prevMode)
		k++
	}
	return k
}

// stripes decides where the route counts: on stripes while it is busy and
// far from its limit (no hot-path limit check is needed there), on its
// base stripe alone, where in-flight is exact, while the limit may bind.
// With a ManualClock a run is a simulation or a test: one stripe keeps its
// decisions the same on any machine. Caller holds mu.
func (r *route) stripes(c *tickCounts, m Mode) {
	st := &r.st
	lim := r.limit()
	near := m != ModeCircuitOpen && (lim == 0 || 4*st.inflight >= lim)
	switch {
	case r.ctr.more.Load() != nil && near:
		r.ctr.narrow()
	case r.ctr.more.Load() == nil && !near && c.decisions >= stripeAt && r.env.clock.kind != clockManual:
		r.ctr.spread()
	}
	r.timeAll.Store(c.decisions < lowRateTick)
	r.frozen.Store(int64(r.ctr.frozenInflight()) - int64(math.Round(r.leakCorrection(r.rawInflight()))))
}

// storeDecision stores the decision state for the hot path. Caller holds mu.
func (r *route) storeDecision(now int64) {
	st := &r.st
	m := st.mode()
	r.rBits.Store(math.Float64bits(st.R))
	for i, s := range st.RampShares() {
		r.rampTh[i].Store(uint32(math.Round(s * math.MaxUint32)))
	}
	for i, b := range bands(r.limit(), st.Lim.Held) {
		r.band[i].Store(b)
	}
	r.retry.Store(int64(st.RetryHint(now, r.env.tick, st.inflight)))
	r.slowNs.Store(int64(st.Baseline() * 1e6))
	r.probe.Store(st.Probe(now, r.env.tick))
	r.mode.Store(uint32(m))
}

// limit is the in-flight limit in force: the route's own, capped by its
// share of its group's capacity while the group binds. A share is what
// normal-priority traffic fills (its band is Share() of the limit); higher
// priorities reach past it as they reach past the limit.
func (r *route) limit() float64 {
	st := &r.st
	if r.share <= 0 {
		return st.Lim.Limit
	}
	capped := float64(r.share) / PriorityNormal.Share()
	if st.Lim.Limit <= 0 {
		return capped
	}
	return math.Min(st.Lim.Limit, capped)
}
