package atrion

import (
	"math"
	"time"
)

// lawState is one route's control law between ticks: the physics' state,
// the mode machine, the error evidence, the in-flight limit, the latency
// floor and the AutoTuner. The engine closes it once per route per tick
// (close); the hot path never reads it, only what the engine stores from
// it. Not safe for concurrent use; the route's lock guards it.
type lawState struct {
	p                         *params
	tp                        *tunerParams
	sloMs                     float64 // SLO latency, ms; 0 = learn
	floor                     latencyFloor
	bootTicks                 int
	circ                      circuit
	win, fast                 errorWindow // the circuit's evidence: about a second, and the last ticks
	lim                       limiter
	pressure                  [3]float64
	weighted                  float64 // Σ wᵢ·Pᵢ, the weighted pressure (pw in the formulas)
	norm, pos                 float64
	momentum                  float64
	scar                      float64
	r                         float64
	breakPoint, recoveryPoint float64
	tuner                     tuner
}

// newLawState starts a route's control law at now: in BOOTSTRAP, with R
// held at 1.2 × R_base, or OPERATIONAL at R_base when p has no bootstrap.
func newLawState(p *params, tp *tunerParams, sloMs float64, now int64) lawState {
	s := lawState{p: p, tp: tp, sloMs: sloMs, circ: newCircuit(p, now)}
	s.breakPoint, s.recoveryPoint = s.thresholds()
	s.r = p.baseR
	if s.circ.mode == ModeBootstrap {
		s.r = 1.2 * p.baseR
	}
	return s
}

// newCircuit is a mode machine started at now: in BOOTSTRAP, or
// OPERATIONAL when p has no bootstrap.
func newCircuit(p *params, now int64) circuit {
	c := circuit{mode: ModeBootstrap, since: now, calm: now}
	if p.bootstrap == 0 {
		c.mode = ModeOperational
	}
	return c
}

// forget starts what the route learned over at now (ResetLearned): scar,
// momentum, the AutoTuner, the latency floor, the limit and the mode
// machine, BOOTSTRAP included.
func (s *lawState) forget(now int64) {
	s.scar, s.momentum = 0, 0
	s.tuner, s.floor, s.lim = tuner{}, latencyFloor{}, limiter{}
	s.circ = newCircuit(s.p, now)
	s.bootTicks = 0
}

// adoptScar takes a scar from outside (a peer's vector, merged) and
// recomputes R with it.
func (s *lawState) adoptScar(scar float64) {
	s.scar = scar
	s.r = resistance(s.p.baseR, s.weighted, s.p.damping, s.momentum, s.scar)
}

// rampShares is the share of each priority the route rejects: RECOVERING's
// ramp (rampShares), none in any other mode.
func (s *lawState) rampShares() (shares [5]float64) {
	if s.circ.mode == ModeRecovering {
		shares = rampShares(s.circ.ramp, s.p.recovery)
	}
	return shares
}

// probe reports whether the route admits a probe after the tick that
// ended at now: every tick in RECOVERING, every probeTicks ticks while
// open.
func (s *lawState) probe(now int64, tick time.Duration) bool {
	opened := (now - s.circ.since) / int64(tick) // ticks open
	m := s.circ.mode
	return m == ModeRecovering || (m == ModeCircuitOpen && opened > 0 && opened%probeTicks == 0)
}

// baseline is the latency baseline in ms (latencyFloor.baseline).
func (s *lawState) baseline() float64 { return s.floor.baseline(s.sloMs) }

// lawTick is what the engine measured over one tick, for close.
type lawTick struct {
	end      int64         // the tick's end, engine ns
	dt       time.Duration // the interval it closes
	tick     time.Duration // the engine's tick
	data     bool          // false: a silent gap, nothing measured
	tel      telemetry     // the tick's aggregate
	samples  bool          // tel carries evidence
	succ     float64       // calls that succeeded (fractional from Route)...
	fail     float64       // ...and failed
	slow     float64       // cancelled calls that waited past the baseline
	peak     float64       // the highest in-flight the hot path saw
	inflight float64       // in flight at the tick's end
	shed     uint64        // requests the in-flight limit shed
	reported bool          // reported telemetry (ReportOutcome, Route): no probe's
	peerOpen bool          // a peer's open circuit was adopted since the last close
}

// sharer answers for queueing shared with other routes (a group): of a
// tick's latency, how much is queueing the group answers for, what share
// of the group's budget the route may hold, and whether the group answers
// at all.
type sharer interface {
	share(end int64, latencyMs, floorMs, inflight, tickSec float64) (queueMs, shared float64, answers bool)
}

// close runs one tick of the control law, one way through: the latency
// floor learns → the physics step → the mode machine → what the route
// learns (tuner, limit). g is the route's group, or nil. It returns the
// mode the route was in and whether the tick was trauma.
func (s *lawState) close(t *lawTick, g sharer) (from Mode, trauma bool) {
	p := s.p
	dtSec := t.dt.Seconds()
	if t.data {
		// ticks without failures teach the floor, unless the limit binds (an
		// overload's latency is not the route's no-load latency) and the
		// floor is known: a loaded start's floor beats none, and faster ticks
		// bring it down at once
		bound := s.lim.limit > 0 && (t.shed > 0 || math.Max(t.peak, t.inflight) >= 0.8*s.lim.limit)
		if t.fail == 0 && t.succ > 0 && (!bound || s.floor.ms == 0) {
			s.floor.learn(t.tel.latencyMs, dtSec)
		}
	}

	// the physics: BOOTSTRAP holds R, and the tick that completes it runs
	// without momentum
	from = s.circ.mode
	warm := from != ModeBootstrap
	withMomentum := warm
	bootDone := false
	if !warm && t.samples {
		s.bootTicks++
		bootDone = s.bootTicks >= p.bootstrap
		warm = bootDone
	}
	res := step(p, s.pressure, s.scar, t.tel, s.floor.baseline(s.sloMs), dtSec, t.samples, warm, withMomentum)

	// the mode machine compares this tick against thresholds learned before it
	tickSec := t.tick.Seconds()
	s.win.add(t.succ+t.fail, t.fail, dtSec, evidenceTicks*tickSec)
	s.fast.add(t.succ+t.fail, t.fail, dtSec, certainTicks*tickSec)
	breakPoint, recoveryPoint := s.thresholds()
	s.circ.next(&tickFacts{end: t.end, tick: t.tick, bootDone: bootDone, res: &res, breakPoint: breakPoint, recoveryPoint: recoveryPoint,
		win: &s.win, fast: &s.fast, calls: t.succ + t.fail, fails: t.fail, peerOpen: t.peerOpen}, p)
	m := s.circ.mode
	if m == ModeCircuitOpen && !t.reported { // anti-windup; reported telemetry is no probe's
		res.scar = math.Min(res.scar, windupScar(breakPoint, p.baseR))
		res.resistance = resistance(p.baseR, res.pw, p.damping, res.momentum, res.scar)
	}

	if from == ModeOperational && m == ModeOperational && t.samples && !res.trauma &&
		res.scar < significantScar(p) && !s.tp.disabled {
		s.tuner.observe(res.resistance, s.tp.alpha)
	}
	if t.data && m != ModeCircuitOpen {
		s.learnLimit(t, g, dtSec, tickSec)
	}

	s.pressure, s.weighted, s.norm, s.pos = res.pressure, res.pw, res.norm, res.posNrm
	s.momentum, s.scar, s.r = res.momentum, res.scar, res.resistance
	s.breakPoint, s.recoveryPoint = s.thresholds()
	return from, res.trauma
}

// learnLimit moves the in-flight limit outside an open circuit; queueing
// shared with the route's group is the group's to answer for.
func (s *lawState) learnLimit(t *lawTick, g sharer, dtSec, tickSec float64) {
	lat, shared, answers := t.tel.latencyMs, 0.0, false
	if g != nil {
		var q float64
		q, shared, answers = g.share(t.end, t.tel.latencyMs, s.floor.ms, math.Max(t.peak, t.inflight), tickSec)
		lat -= q
	}
	s.lim.update(limitFacts{dtSec: dtSec, tickSec: tickSec, latencyMs: lat,
		noLoadMs: s.floor.ms, successes: t.succ, inflight: t.inflight, peak: t.peak,
		shed: t.shed, ended: t.succ + t.fail + t.slow, abandoned: t.slow, shared: shared, answers: answers})
}

// thresholds are the break and recovery points in force: the AutoTuner's
// once warm (unless disabled or in shadow mode), else the static ones.
func (s *lawState) thresholds() (breakPoint, recoveryPoint float64) {
	if s.tunerEnforced() {
		return s.tuner.thresholds(s.tp)
	}
	return s.p.staticPoints()
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
func (s *lawState) tunerEnforced() bool {
	return !s.tp.disabled && !s.tp.shadow && s.tuner.warm(s.tp) && s.tuner.samples > 0
}
