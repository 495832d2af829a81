package atrion

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// failUnit is one outcome in the fixed-point success and failure counters,
// which also carry fractional error rates from Route.
const failUnit = 1 << 20

// sampleEvery: above lowRateTick decisions per tick, one request in
// sampleEvery is timed (SPEC §9: a tick's mean latency may come from a
// sample of its requests when traffic is high), so a busy tick still has at
// least lowRateTick/sampleEvery = 8 samples; a clock read is the dearest
// part of the hot path.
const (
	sampleEvery = 32
	lowRateTick = 256
)

// route is one route's state. The hot path touches only atomics; the
// physics runs under mu when a tick closes.
type route struct {
	// read by every request, written only when a tick closes (under mu)
	id      string
	eng     *Atrion
	tickEnd atomic.Int64
	mode    atomic.Uint32
	timeAll atomic.Bool
	probe   atomic.Bool // one would-be-shed request per tick is admitted as a probe
	// detached: not in the table under its own ID (evicted, or the
	// overflow route), so Handles holding it must look their ID up again
	detached atomic.Bool
	rBits    atomic.Uint64
	shedTh   [5]atomic.Uint64 // reject when the decision hash < shedTh[p]
	retry    atomic.Int64
	// slowNs is the latency baseline (ns): a Canceled request that waited
	// longer is a slow sample, one that left sooner is Ignored
	slowNs atomic.Int64

	ctr counters // written by every request, striped (counters.go)
	_   cacheLinePad

	// written rarely, off the lines above: by ReportOutcome, Route and bad input
	satSum   atomic.Uint64 // saturation × 1e6, swapped per tick
	satN     atomic.Uint64 // swapped per tick
	invalids atomic.Uint64 // bad inputs clamped or dropped

	mu sync.Mutex
	st routeState
}

// cacheLinePad keeps groups of hot fields off each other's cache lines.
type cacheLinePad [64]byte

// routeState is the physics state behind mu.
type routeState struct {
	p           *params
	tp          *tunerParams
	sloLatency  float64 // ms, 0 = learn
	latBase     float64 // learned baseline, ms
	latCeil     float64 // learned baseline ceiling, ms
	bootLatSum  float64
	bootLatN    int
	tick        time.Duration
	lastEnd     int64 // end of the last closed tick (engine ns)
	lastData    int64 // end of the last tick with samples
	ticks       uint64
	bootTicks   int
	mode        Mode
	pressure    [3]float64
	pw          float64
	norm, pos   float64
	momentum    float64
	scar        float64
	r           float64
	brk, rec    float64
	tuner       tuner
	rampStep    int
	transitions uint64
	byMode      [4][4]uint64 // transitions by from, to
	// evidenceAt is when this route last saw new evidence: a trauma tick,
	// a mode change, or a peer's vector adopted (at the peer's time). It is
	// the vector's UpdatedAt, so last-writer-wins means newest evidence
	// wins: a busy healthy peer does not erase a failing node's scar.
	evidenceAt time.Time
	// counter values at the last tick close, to take per-tick deltas
	lastSeq, lastSucc, lastFail uint64
	lastIgn, lastSlow           uint32                 // modulo 2³² (counterStripe)
	ignTotal, slowTotal         uint64                 // up to the last tick close
	lastRej                     [numReasons - 1]uint32 // modulo 2³² (counterStripe.rej)
	rejTotal                    [numReasons]uint64     // rejections up to the last tick close
	queued                      bool                   // waiting in the state manager's publish queue
}

func newRoute(e *Atrion, id string, p *params, tp *tunerParams, sloLatencyMs float64, now int64) *route {
	r := &route{id: id, eng: e}
	r.st = routeState{p: p, tp: tp, sloLatency: sloLatencyMs, tick: e.tick, lastEnd: now, lastData: now, evidenceAt: e.clock.wall(now)}
	r.st.mode = ModeBootstrap
	if p.bootstrap == 0 {
		r.st.mode = ModeOperational
	}
	r.st.brk, r.st.rec = p.baseR*p.breakMult, p.baseR*p.breakMult/2
	r.st.r = p.baseR
	if r.st.mode == ModeBootstrap {
		r.st.r = 1.2 * p.baseR
	}
	r.tickEnd.Store(now + int64(e.tick))
	r.mode.Store(uint32(r.st.mode))
	r.rBits.Store(math.Float64bits(r.st.r))
	r.timeAll.Store(true)
	r.retry.Store(int64(time.Second))
	r.slowNs.Store(int64(r.st.latencyBaseline(math.NaN()) * 1e6))
	return r
}

// reject counts a rejection and fills in d's reason and hint.
func (r *route) reject(d *Decision, why Reason) {
	r.ctr.stripe().rej[why-1].Add(1)
	d.Reason = why
	d.RetryAfter = time.Duration(r.retry.Load())
}

// sampled reports whether decision n should be timed.
func (r *route) sampled(n uint64) bool {
	return n%sampleEvery == 0 || r.timeAll.Load()
}

// record counts one outcome. latency < 0 means "not timed". A Canceled
// outcome here is a slow sample: cancelled decides which cancellations are.
func (r *route) record(c Class, latency int64) {
	s := r.ctr.stripe()
	switch c {
	case Success:
		s.succ.Add(failUnit)
	case Failure:
		s.fail.Add(failUnit)
	case Canceled:
		s.slow.Add(1)
	default:
		s.ign.Add(1)
		return
	}
	if latency >= 0 {
		s.latSum.Add(latency)
		s.latN.Add(1)
	}
}

// cancelled records a request whose caller gave up after waited ns: a slow
// sample when it waited past the baseline, else ignored. sample is false
// when waited is only an estimate, which classifies it but is no latency
// sample.
func (r *route) cancelled(waited int64, sample bool) {
	if waited < r.slowNs.Load() {
		r.record(Ignored, -1)
		return
	}
	if !sample {
		waited = -1
	}
	r.record(Canceled, waited)
}

// recordSaturation adds one saturation sample; NaN is dropped.
func (r *route) recordSaturation(s float64) {
	if math.IsNaN(s) {
		r.invalids.Add(1)
		return
	}
	if s < 0 || s > 1 {
		r.invalids.Add(1)
		s = math.Min(1, math.Max(0, s))
	}
	r.satSum.Add(uint64(s * 1e6))
	r.satN.Add(1)
}

// maybeSettle closes the ticks that ended at or before now.
func (r *route) maybeSettle(now int64) {
	if now >= r.tickEnd.Load() {
		r.settle(now)
	}
}

// settle closes every tick that has ended by now: the data tick with its
// aggregate, then any silent gap as one step. It is the only writer of the
// decision state.
func (r *route) settle(now int64) {
	var evs [4]Event // up to two per closeTick: the tick and a transition
	n, enqueue := r.settleLocked(now, &evs)
	for _, ev := range evs[:n] {
		r.eng.emit(ev)
	}
	if enqueue {
		r.eng.state.enqueue(r)
	}
}

// settleLocked closes the ended ticks under mu; the deferred unlock keeps
// a route from ever staying locked, whatever happens inside.
func (r *route) settleLocked(now int64, evs *[4]Event) (n int, enqueue bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.tickEnd.Load()
	if now < end {
		return 0, false
	}
	st := &r.st
	tick := int64(st.tick)
	n += r.closeTick(end, time.Duration(end-st.lastEnd), true, evs[n:])
	next := end + tick
	if now >= next {
		gap := (now - end) / tick
		next = end + (gap+1)*tick
		n += r.closeTick(end+gap*tick, time.Duration(gap*tick), false, evs[n:])
	}
	r.tickEnd.Store(next)
	enqueue = !st.queued
	st.queued = true
	return n, enqueue
}

// closeTick runs the physics for the interval ending at end. data is false
// for a silent gap. It writes up to two events into evs and returns how many.
func (r *route) closeTick(end int64, dt time.Duration, data bool, evs []Event) int {
	st := &r.st
	p := st.p
	var tel telemetry
	var admitted, succ, failU, ign, slow uint64
	var rej [numReasons]uint64
	busy := false
	if data {
		tot := r.ctr.totals()
		seq, s, f := tot.seq, tot.succ, tot.fail
		ign, slow = uint64(tot.ign-st.lastIgn), uint64(tot.slow-st.lastSlow) // modulo 2³²
		st.lastIgn, st.lastSlow = tot.ign, tot.slow
		st.ignTotal += ign
		st.slowTotal += slow
		for i, v := range tot.rej {
			d := uint64(v - st.lastRej[i]) // modulo 2³²
			rej[i+1] = d
			st.lastRej[i] = v
			st.rejTotal[i+1] += d
		}
		var rejAll uint64
		for _, v := range rej {
			rejAll += v
		}
		decisions := seq - st.lastSeq
		busy = decisions > 0
		admitted = decisions - min(decisions, rejAll)
		succ, failU = s-st.lastSucc, f-st.lastFail
		st.lastSeq, st.lastSucc, st.lastFail = seq, s, f
		r.timeAll.Store(decisions < lowRateTick)
		// with a ManualClock a run is a simulation or a test: one stripe
		// keeps its decisions the same on any machine
		if decisions >= stripeAt && r.eng.clock.kind != clockManual {
			r.ctr.spread()
		}
		latSum, latN := r.ctr.takeLatency()
		satSum, satN := r.satSum.Swap(0), r.satN.Swap(0)
		// slow samples are evidence of latency, not of errors
		weight := float64(succ+failU)/failUnit + float64(slow)
		data = weight > 0
		tel = telemetry{latencyMs: math.NaN(), errorRate: math.NaN(), saturation: math.NaN()}
		if data {
			if succ+failU > 0 {
				tel.errorRate = float64(failU) / float64(succ+failU)
			}
			if latN > 0 {
				tel.latencyMs = float64(latSum) / float64(latN) / 1e6
			}
			if satN > 0 {
				tel.saturation = float64(satSum) / 1e6 / float64(satN)
			}
			if f := r.eng.saturation; f != nil {
				tel.saturation = r.eng.readSaturation(f)
			}
		}
	}
	dtSec := dt.Seconds()
	prevMode := st.mode
	baseline := st.latencyBaseline(tel.latencyMs)
	warm := st.mode != ModeBootstrap
	withMomentum := warm
	completing := false
	if !warm && data && st.bootTicks+1 >= p.bootstrap {
		completing, warm = true, true
	}
	res := step(p, st.pressure, st.scar, tel, baseline, dtSec, data, warm, withMomentum)

	// the AutoTuner compares this tick against thresholds learned before it
	brk, rec := st.thresholds()
	m := st.mode
	switch {
	case m == ModeBootstrap:
		if data {
			st.bootTicks++
			st.learnBootstrap(tel.latencyMs)
		}
		if completing {
			m = ModeOperational
			if res.resistance >= brk {
				m = ModeCircuitOpen
			}
		}
	default:
		m = transition(m, &res, brk, rec, p.pCrit, p.recovery, &st.rampStep)
	}
	if prevMode == ModeOperational && m == ModeOperational && data && !res.trauma {
		if !st.tp.disabled {
			st.tuner.observe(res.resistance, st.tp.alpha)
		}
		st.learnLatency(tel.latencyMs)
	}
	st.pressure, st.pw, st.norm, st.pos = res.pressure, res.pw, res.norm, res.posNrm
	st.momentum, st.scar, st.r = res.momentum, res.scar, res.resistance
	st.mode = m
	st.lastEnd = end
	if res.trauma || prevMode != m {
		st.evidenceAt = r.eng.clock.wall(end)
	}
	if data {
		st.ticks++
		st.lastData = end
	}
	st.brk, st.rec = st.thresholds()
	r.publish()

	k := 0
	if data || busy || st.scar > 0 || prevMode != m {
		ev := r.event(EventTick, end, dt, prevMode)
		ev.Admitted, ev.Succeeded, ev.Failed, ev.Ignored, ev.Slow = admitted, (succ+failUnit/2)/failUnit, (failU+failUnit/2)/failUnit, ign, slow
		for _, v := range rej {
			ev.Shed += v
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

// publish stores the decision state for the hot path. Caller holds mu.
func (r *route) publish() {
	st := &r.st
	r.rBits.Store(math.Float64bits(st.r))
	ramp := rampShare(st.rampStep, st.p.recovery)
	shares := shedShares(st.mode, st.r, st.p.baseR, st.brk, ramp)
	for i, s := range shares {
		r.shedTh[i].Store(uint64(math.Round(s * (1 << 32))))
	}
	r.retry.Store(int64(retryAfter(st.mode, st.r, st.scar, st.rec, st.p.decay, st.tick)))
	r.slowNs.Store(int64(st.latencyBaseline(math.NaN()) * 1e6))
	r.probe.Store(true)
	r.mode.Store(uint32(st.mode))
}

// thresholds are the break and recovery points in force: the AutoTuner's
// once warm (unless disabled or in shadow mode), else the static ones.
func (st *routeState) thresholds() (brk, rec float64) {
	if !st.tp.disabled && !st.tp.shadow && st.tuner.warm(st.tp) && st.tuner.samples > 0 {
		return st.tuner.thresholds(st.tp)
	}
	return st.p.baseR * st.p.breakMult, st.p.baseR * st.p.breakMult / 2
}

// Learned latency baselines (SPEC §3.6): where no SLO latency is set, a
// route's baseline is learnedHeadroom × its healthy mean latency; the
// bootstrap ticks seed it, healthy OPERATIONAL ticks move it slowly, and it
// never rises above latencyCeiling × the bootstrap baseline, so a slow leak
// cannot become the new normal.
const (
	defaultLatencyMs = 100
	learnedHeadroom  = 2
	latencyCeiling   = 1.5
	latencyAlpha     = 0.01
	minBaselineMs    = 1
	maxBaselineMs    = 60_000
)

func (st *routeState) latencyBaseline(tickLatencyMs float64) float64 {
	if st.sloLatency > 0 {
		return st.sloLatency
	}
	if st.latBase > 0 {
		return st.latBase
	}
	if !math.IsNaN(tickLatencyMs) {
		return clampBaseline(learnedHeadroom * tickLatencyMs)
	}
	return defaultLatencyMs
}

func clampBaseline(ms float64) float64 { return math.Min(maxBaselineMs, math.Max(minBaselineMs, ms)) }

func (st *routeState) learnBootstrap(latMs float64) {
	if st.sloLatency > 0 || math.IsNaN(latMs) {
		return
	}
	st.bootLatSum += latMs
	st.bootLatN++
	st.latBase = clampBaseline(learnedHeadroom * st.bootLatSum / float64(st.bootLatN))
	st.latCeil = latencyCeiling * st.latBase
}

func (st *routeState) learnLatency(latMs float64) {
	if st.sloLatency > 0 || math.IsNaN(latMs) {
		return
	}
	if st.latBase == 0 {
		st.latBase = clampBaseline(learnedHeadroom * latMs)
		st.latCeil = latencyCeiling * st.latBase
		return
	}
	st.latBase += latencyAlpha * (clampBaseline(learnedHeadroom*latMs) - st.latBase)
	st.latBase = math.Min(st.latBase, st.latCeil)
}

// applyPeer folds a peer's scar into this route (SPEC §6) and refreshes
// the decision state; a mode change follows at the next tick close.
func (r *route) applyPeer(remote PhysicsVector, merge func(local, remote PhysicsVector) PhysicsVector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	local := r.vectorLocked()
	merged := merge(local, remote)
	s := merged.Scar
	if !finite(s) || s < 0 {
		r.invalids.Add(1)
		return
	}
	st := &r.st
	if st.mode == ModeBootstrap {
		return
	}
	st.scar = s
	if merged.UpdatedAt.After(st.evidenceAt) {
		st.evidenceAt = merged.UpdatedAt
	}
	st.r = resistance(st.p.baseR, st.pw, st.p.damping, st.momentum, st.scar)
	r.publish()
}

// vectorLocked is the route's PhysicsVector. Caller holds mu.
func (r *route) vectorLocked() PhysicsVector {
	st := &r.st
	return PhysicsVector{
		Route: r.id, Scar: st.scar, Momentum: st.momentum, Resistance: st.r,
		Mode: st.mode, Tick: st.ticks, UpdatedAt: st.evidenceAt, NodeID: r.eng.nodeID,
	}
}
