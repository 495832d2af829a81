package atrion

import (
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
	// publish on change (publish.go): a quiet route costs the provider
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
		st.rejTotal[i+1] += d
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
	return c
}

// inflightNow is the route's requests in flight, summed over its stripes.
// Caller holds mu.
func (r *route) inflightNow() float64 {
	return float64(int32(r.ctr.inflight()) + int32(r.untracked.Load()))
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
func (r *route) telemetry(c *tickCounts, stale, staleAgeMs float64) (tel telemetry, samples bool) {
	tel = telemetry{latencyMs: math.NaN(), errorRate: math.NaN(), saturation: math.NaN()}
	calls := c.succ + c.fail
	done := calls + float64(c.slow)
	if done <= 0 && stale <= 0 {
		return tel, false
	}
	if calls > 0 {
		tel.errorRate = wilsonLower(c.fail, calls)
	}
	switch {
	case c.latN > 0:
		mean := float64(c.latSum) / float64(c.latN) / 1e6
		tel.latencyMs = (mean*done + staleAgeMs*stale) / (done + stale)
	case stale > 0:
		tel.latencyMs = staleAgeMs
	}
	if n := r.satN.Swap(0); n > 0 {
		tel.saturation = float64(r.satSum.Swap(0)) / 1e6 / float64(n)
	}
	if f := r.env.saturation; f != nil && done > 0 {
		tel.saturation = r.env.readSaturation(f)
	}
	return tel, true
}

// closeTick runs one tick of the control law for the interval ending at
// end, one way through: the tick's counters → the physics step → the mode
// machine → what the route learns → the decision state the hot path reads.
// data is false for a silent gap. It writes up to two events into evs and
// returns how many.
func (r *route) closeTick(end int64, dt time.Duration, data bool, evs []Event) int {
	st := &r.st
	p := st.p
	dtSec := dt.Seconds()
	var c tickCounts
	var tel telemetry
	samples := false
	if data {
		c, tel, samples = r.aggregate(dtSec)
	}

	// the physics: BOOTSTRAP holds R, and the tick that completes it runs
	// without momentum
	prevMode := st.circ.mode
	warm := prevMode != ModeBootstrap
	withMomentum := warm
	bootDone := false
	if !warm && samples {
		st.bootTicks++
		bootDone = st.bootTicks >= p.bootstrap
		warm = bootDone
	}
	res := step(p, st.pressure, st.scar, tel, st.floor.baseline(st.sloMs), dtSec, samples, warm, withMomentum)

	// the mode machine compares this tick against thresholds learned before it
	tickSec := r.env.tick.Seconds()
	st.win.add(c.succ+c.fail, c.fail, dtSec, evidenceTicks*tickSec)
	st.fast.add(c.succ+c.fail, c.fail, dtSec, certainTicks*tickSec)
	breakPoint, recoveryPoint := st.thresholds()
	st.circ.next(&tickFacts{end: end, tick: r.env.tick, bootDone: bootDone, res: &res, breakPoint: breakPoint, recoveryPoint: recoveryPoint,
		win: &st.win, fast: &st.fast, calls: c.succ + c.fail, fails: c.fail, peerOpen: st.peerOpen}, p)
	st.peerOpen = false
	m := st.circ.mode
	if m == ModeCircuitOpen && !c.reported { // anti-windup; reported telemetry is no probe's
		res.scar = math.Min(res.scar, windupScar(breakPoint, p.baseR))
		res.resistance = resistance(p.baseR, res.pw, p.damping, res.momentum, res.scar)
	}

	if prevMode == ModeOperational && m == ModeOperational && samples && !res.trauma &&
		res.scar < significantScar(p) && !st.tp.disabled {
		st.tuner.observe(res.resistance, st.tp.alpha)
	}
	if data {
		r.learnLimit(end, &c, tel.latencyMs, dtSec, m)
	}

	st.pressure, st.weighted, st.norm, st.pos = res.pressure, res.pw, res.norm, res.posNrm
	st.momentum, st.scar, st.r = res.momentum, res.scar, res.resistance
	st.lastEnd = end
	if res.trauma || prevMode != m {
		st.evidenceAt = r.env.clock.wall(end)
	}
	if samples {
		st.ticks++
	}
	st.breakPoint, st.recoveryPoint = st.thresholds()
	r.publish(end)
	return r.events(end, dt, prevMode, &c, samples, evs)
}

// aggregate takes the tick's counters and turns them into the physics'
// telemetry, and teaches the latency floor. Caller holds mu.
func (r *route) aggregate(dtSec float64) (c tickCounts, tel telemetry, samples bool) {
	st := &r.st
	c = r.take()
	st.inflight = r.inflightNow()
	st.admits[st.admitAt%uint8(len(st.admits))] = uint32(min(c.admitted, math.MaxUint32))
	st.admitAt = (st.admitAt + 1) % uint8(len(st.admits))
	stale, age := st.staleInflight(st.inflight, st.floor.baseline(st.sloMs), float64(r.env.tick)/1e6)
	tel, samples = r.telemetry(&c, stale, age)
	// ticks without failures teach the floor, unless the limit binds (an
	// overload's latency is not the route's no-load latency) and the
	// floor is known: a loaded start's floor beats none, and faster ticks
	// bring it down at once
	bound := st.lim.limit > 0 && (c.rej[ReasonShed] > 0 || math.Max(c.peak, st.inflight) >= 0.8*st.lim.limit)
	if c.fail == 0 && c.succ > 0 && (!bound || st.floor.ms == 0) {
		st.floor.learn(tel.latencyMs, dtSec)
	}
	return c, tel, samples
}

// learnLimit moves the in-flight limit outside an open circuit (queueing
// shared with the route's group is the group's to answer for) and decides
// where the route counts. Caller holds mu.
func (r *route) learnLimit(end int64, c *tickCounts, latencyMs, dtSec float64, m Mode) {
	st := &r.st
	tickSec := r.env.tick.Seconds()
	if m != ModeCircuitOpen {
		lat, shared, answers := latencyMs, 0.0, false
		if r.grp != nil {
			var q float64
			q, shared, answers = r.grp.report(r, memberStats{at: end, latencyMs: latencyMs, floorMs: st.floor.ms,
				inflight: math.Max(c.peak, st.inflight)}, tickSec)
			lat -= q
		}
		st.lim.update(limitFacts{dtSec: dtSec, tickSec: tickSec, latencyMs: lat,
			noLoadMs: st.floor.ms, successes: c.succ, inflight: st.inflight, peak: c.peak,
			shed: c.rej[ReasonShed], ended: c.succ + c.fail + float64(c.slow), abandoned: float64(c.slow), shared: shared, answers: answers})
	}
	r.stripes(c, m)
}

// events builds the tick's event and, on a mode change, the transition's.
// Caller holds mu.
func (r *route) events(end int64, dt time.Duration, prevMode Mode, c *tickCounts, samples bool, evs []Event) int {
	st := &r.st
	m := st.circ.mode
	k := 0
	if samples || c.decisions > 0 || st.scar > 0 || prevMode != m {
		ev := r.event(EventTick, end, dt, prevMode)
		ev.Admitted, ev.Succeeded, ev.Failed, ev.Ignored, ev.Slow = c.admitted, uint64(math.Round(c.succ)), uint64(math.Round(c.fail)), c.ign, c.slow
		for _, v := range c.rej {
			ev.Shed += v
		}
		if c.latN > 0 {
			ev.Latency = time.Duration(c.latSum / int64(c.latN))
		}
		evs[k] = ev
		k++
	}
	if prevMode != m {
		st.transitions++
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
	near := m != ModeCircuitOpen && (st.lim.limit == 0 || 4*st.inflight >= st.lim.limit)
	switch {
	case r.ctr.more.Load() != nil && near:
		r.ctr.narrow()
	case r.ctr.more.Load() == nil && !near && c.decisions >= stripeAt && r.env.clock.kind != clockManual:
		r.ctr.spread()
	}
	r.timeAll.Store(c.decisions < lowRateTick)
	r.frozen.Store(int64(r.ctr.frozenInflight()))
}

// publish stores the decision state for the hot path. Caller holds mu.
func (r *route) publish(now int64) {
	st := &r.st
	m := st.circ.mode
	r.rBits.Store(math.Float64bits(st.r))
	var ramp [5]float64
	if m == ModeRecovering {
		ramp = rampShares(st.circ.ramp, st.p.recovery)
	}
	for i, s := range ramp {
		r.rampTh[i].Store(uint32(math.Round(s * math.MaxUint32)))
	}
	for i, b := range bands(st.lim.limit, st.lim.held) {
		r.band[i].Store(b)
	}
	r.retry.Store(int64(st.retryHint(now, r.env.tick)))
	r.slowNs.Store(int64(st.floor.baseline(st.sloMs) * 1e6))
	opened := (now - st.circ.since) / int64(r.env.tick) // ticks open
	r.probe.Store(m == ModeRecovering || (m == ModeCircuitOpen && opened > 0 && opened%probeTicks == 0))
	r.mode.Store(uint32(m))
}

// thresholds are the break and recovery points in force: the AutoTuner's
// once warm (unless disabled or in shadow mode), else the static ones.
func (st *routeState) thresholds() (breakPoint, recoveryPoint float64) {
	if st.tunerEnforced() {
		return st.tuner.thresholds(st.tp)
	}
	return st.p.staticPoints()
}

// significantScar is the scar beyond which a tick is no lesson for the
// AutoTuner: half the way from R_base to the static break point. Below it
// a route's normal includes its usual small scars (a flaky route learns a
// higher break); above it the route is still healing from an incident.
func significantScar(p *params) float64 {
	breakPoint, _ := p.staticPoints()
	return (breakPoint - p.baseR) / 2
}

// tunerEnforced reports whether the learned points decide.
func (st *routeState) tunerEnforced() bool {
	return !st.tp.disabled && !st.tp.shadow && st.tuner.warm(st.tp) && st.tuner.samples > 0
}
