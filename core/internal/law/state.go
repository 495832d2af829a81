package law

import (
	"math"
	"time"
)

// State is one route's control law between ticks: the physics' state,
// the mode machine, the error evidence, the in-flight limit, the latency
// floor and the AutoTuner. The engine closes it once per route per tick
// (close); the hot path never reads it, only what the engine stores from
// it. Not safe for concurrent use; the route's lock guards it.
type State struct {
	P         *Params
	TP        *TunerParams
	SloMs     float64 // SLO latency, ms; 0 = learn
	Floor     latencyFloor
	bootTicks int32
	// Weight is the route's weight in its group's shares (0: 1). The law
	// does not read it: the engine keeps it here, beside bootTicks, where
	// it costs the route no padding.
	Weight                    float32
	Circ                      circuit
	Win, Fast                 errorWindow // the circuit's evidence: about a second, and the last ticks
	Lim                       limiter
	Pressure                  [3]float64
	weighted                  float64 // Σ wᵢ·Pᵢ, the weighted pressure (pw in the formulas)
	Norm, Pos                 float64
	Momentum                  float64
	Scar                      float64
	R                         float64
	BreakPoint, RecoveryPoint float64
	Tuner                     tuner
}

// NewState starts a route's control law at now: in BOOTSTRAP, with R
// held at 1.2 × R_base, or OPERATIONAL at R_base when p has no bootstrap.
func NewState(p *Params, tp *TunerParams, sloMs float64, now int64) State {
	s := State{P: p, TP: tp, SloMs: sloMs, Circ: newCircuit(p, now)}
	s.BreakPoint, s.RecoveryPoint = s.thresholds()
	s.R = p.BaseR
	if s.Circ.Mode == ModeBootstrap {
		s.R = 1.2 * p.BaseR
	}
	return s
}

// newCircuit is a mode machine started at now: in BOOTSTRAP, or
// OPERATIONAL when p has no bootstrap.
func newCircuit(p *Params, now int64) circuit {
	c := circuit{Mode: ModeBootstrap, Since: now, calm: now}
	if p.Bootstrap == 0 {
		c.Mode = ModeOperational
	}
	return c
}

// Forget starts what the route learned over at now (ResetLearned): scar,
// momentum, the AutoTuner, the latency floor, the limit and the mode
// machine, BOOTSTRAP included.
func (s *State) Forget(now int64) {
	s.Scar, s.Momentum = 0, 0
	s.Tuner, s.Floor, s.Lim = tuner{}, latencyFloor{}, limiter{}
	s.Circ = newCircuit(s.P, now)
	s.bootTicks = 0
}

// AdoptScar takes a scar from outside (a peer's vector, merged) and
// recomputes R with it.
func (s *State) AdoptScar(scar float64) {
	s.Scar = scar
	s.R = resistance(s.P.BaseR, s.weighted, s.P.Damping, s.Momentum, s.Scar)
}

// RampShares is the share of each priority the route rejects: RECOVERING's
// ramp (rampShares), none in any other mode.
func (s *State) RampShares() (shares [5]float64) {
	if s.Circ.Mode == ModeRecovering {
		shares = rampShares(int(s.Circ.ramp), s.P.Recovery)
	}
	return shares
}

// Probe reports whether the route admits a probe after the tick that
// ended at now: every tick in RECOVERING; while open, every few ticks, as
// the route's traffic allows (probeSpacing).
func (s *State) Probe(now int64, tick time.Duration) bool {
	opened := (now - s.Circ.Since) / int64(tick) // ticks open
	every := int64(probeTicks)                   // the route's traffic not measured yet
	if s.Circ.probeEvery > 0 {
		every = int64(max(s.Circ.probeEvery, minProbeTicks))
	}
	m := s.Circ.Mode
	return m == ModeRecovering || (m == ModeCircuitOpen && opened > 0 && opened%every == 0)
}

// Baseline is the latency baseline in ms (latencyFloor.baseline).
func (s *State) Baseline() float64 { return s.Floor.baseline(s.SloMs) }

// Tick is what the engine measured over one tick, for Close.
type Tick struct {
	End       int64         // the tick's end, engine ns
	Dt        time.Duration // the interval it closes
	Tick      time.Duration // the engine's tick
	Data      bool          // false: a silent gap, nothing measured
	Tel       Telemetry     // the tick's aggregate
	Samples   bool          // tel carries evidence
	Succ      float64       // calls that succeeded (fractional from Route)...
	Fail      float64       // ...and failed
	Slow      float64       // cancelled calls that waited past the baseline
	Peak      float64       // the highest in-flight the hot path saw
	Inflight  float64       // in flight at the tick's end
	Shed      uint64        // requests the in-flight limit shed
	Decisions uint64        // requests decided in the tick: admitted and rejected
	Admitted  float64       // requests admitted in the tick
	Limit     float64       // the limit in force (the group's share included); 0: the route's own
	Reported  bool          // reported telemetry (ReportOutcome, Route): no probe's
	PeerOpen  bool          // a peer's open circuit was adopted since the last close
	// PatienceMs is how long the tick's callers said they would wait (the
	// mean time left before their deadlines at admission); 0: none said
	PatienceMs float64
}

// Sharer answers for queueing shared with other routes (a group): of a
// tick's latency, how much is queueing the group answers for (taken out of
// the route's own latency), and that queueing relative to the group's
// fastest no-load latency.
type Sharer interface {
	Share(f ShareFacts) (queueMs, shared float64)
}

// ShareFacts is what a route tells its group of one tick (Sharer), by
// value: a pointer through the interface would move the tick to the heap.
type ShareFacts struct {
	End       int64   // the tick's end, engine ns
	LatencyMs float64 // the tick's latency; NaN: none
	FloorMs   float64 // the route's no-load latency
	Inflight  float64 // the most in flight in the tick
	DtSec     float64 // the tick's length
	TickSec   float64 // the engine's tick
	Offered   float64 // requests in the tick: admitted and shed
	Served    float64 // calls that ended with an answer: successes and failures
	Limited   bool    // the route's own limit shed in the tick
}

// Close runs one tick of the control law, one way through: the latency
// floor learns → the physics step → the mode machine → what the route
// learns (tuner, limit). g is the route's group, or nil. It returns the
// mode the route was in and whether the tick was trauma.
func (s *State) Close(t *Tick, g Sharer) (from Mode, trauma bool) {
	p := s.P
	dtSec := t.Dt.Seconds()
	if t.Data {
		s.Circ.probeEvery = probeSpacing(t.Decisions)
		// ticks without failures teach the floor, unless the limit binds (an
		// overload's latency is not the route's no-load latency) and the
		// floor is known: a loaded start's floor beats none, and faster ticks
		// bring it down at once
		lim := s.Lim.Limit
		if t.Limit > 0 {
			lim = t.Limit
		}
		bound := lim > 0 && (t.Shed > 0 || math.Max(t.Peak, t.Inflight) >= 0.8*lim)
		if t.Fail == 0 && t.Succ > 0 && (!bound || s.Floor.Ms == 0) {
			s.Floor.learn(t.Tel.LatencyMs, dtSec)
		}
	}

	// the physics: BOOTSTRAP holds R, and the tick that completes it runs
	// without momentum
	from = s.Circ.Mode
	warm := from != ModeBootstrap
	withMomentum := warm
	bootDone := false
	if !warm && t.Samples {
		s.bootTicks++
		bootDone = int(s.bootTicks) >= p.Bootstrap
		warm = bootDone
	}
	res := step(p, s.Pressure, s.Scar, t.Tel, s.Floor.baseline(s.SloMs), dtSec, t.Samples, warm, withMomentum)

	// the mode machine compares this tick against thresholds learned before it
	tickSec := t.Tick.Seconds()
	s.Win.add(t.Succ+t.Fail, t.Fail, dtSec, evidenceTicks*tickSec)
	s.Fast.add(t.Succ+t.Fail, t.Fail, dtSec, certainTicks*tickSec)
	breakPoint, recoveryPoint := s.thresholds()
	s.Circ.next(&tickFacts{end: t.End, tick: t.Tick, bootDone: bootDone, res: &res, breakPoint: breakPoint, recoveryPoint: recoveryPoint,
		win: &s.Win, fast: &s.Fast, calls: t.Succ + t.Fail, fails: t.Fail, peerOpen: t.PeerOpen}, p)
	m := s.Circ.Mode
	if m == ModeCircuitOpen && !t.Reported { // anti-windup; reported telemetry is no probe's
		res.scar = math.Min(res.scar, windupScar(breakPoint, p.BaseR))
		res.resistance = resistance(p.BaseR, res.pw, p.Damping, res.momentum, res.scar)
	}

	if from == ModeOperational && m == ModeOperational && t.Samples && !res.trauma &&
		res.scar < significantScar(p) && !s.TP.Disabled {
		s.Tuner.observe(res.resistance, s.TP.Alpha)
	}
	if t.Data && m != ModeCircuitOpen {
		s.learnLimit(t, g, dtSec, tickSec)
	}

	s.Pressure, s.weighted, s.Norm, s.Pos = res.pressure, res.pw, res.norm, res.posNrm
	s.Momentum, s.Scar, s.R = res.momentum, res.scar, res.resistance
	s.BreakPoint, s.RecoveryPoint = s.thresholds()
	return from, res.trauma
}

// learnLimit moves the in-flight limit outside an open circuit; queueing
// shared with the route's group is the group's to answer for.
func (s *State) learnLimit(t *Tick, g Sharer, dtSec, tickSec float64) {
	lat, shared := t.Tel.LatencyMs, 0.0
	if g != nil {
		var q float64
		q, shared = g.Share(ShareFacts{End: t.End, LatencyMs: t.Tel.LatencyMs, FloorMs: s.Floor.Ms,
			Inflight: math.Max(t.Peak, t.Inflight), DtSec: dtSec, TickSec: tickSec,
			Offered: t.Admitted + float64(t.Shed), Served: t.Succ + t.Fail, Limited: t.Shed > 0})
		lat -= q
	}
	s.Lim.update(limitFacts{dtSec: dtSec, tickSec: tickSec, latencyMs: lat,
		noLoadMs: s.Floor.Ms, successes: t.Succ, inflight: t.Inflight, peak: t.Peak,
		shed: t.Shed, ended: t.Succ + t.Fail + t.Slow, abandoned: t.Slow, shared: shared, toldMs: t.PatienceMs})
}

// thresholds are the break and recovery points in force: the AutoTuner's
// once warm (unless disabled or in shadow mode), else the static ones.
func (s *State) thresholds() (breakPoint, recoveryPoint float64) {
	if s.TunerEnforced() {
		return s.Tuner.Thresholds(s.TP)
	}
	return s.P.staticPoints()
}

// significantScar is the scar beyond which a tick is no lesson for the
// AutoTuner: half the way from R_base to the static break point. Below it
// a route's normal includes its usual small scars (a flaky route learns a
// higher break); above it the route is still healing from an incident.
func significantScar(p *Params) float64 {
	breakPoint, _ := p.staticPoints()
	return (breakPoint - p.BaseR) / 2
}

// TunerEnforced reports whether the learned points decide.
func (s *State) TunerEnforced() bool {
	return !s.TP.Disabled && !s.TP.Shadow && s.Tuner.warm(s.TP) && s.Tuner.Samples > 0
}

// maxShedRetry bounds the retry hint of a shed or a recovering rejection:
// past it, the route's state will have changed anyway.
const maxShedRetry = time.Second

// RetryHint is the hint a rejection carries (Decision.RetryAfter), derived
// from the route's state rather than fixed: for an open circuit, when its
// minimum open time ends (circuit.RetryAfter); in RECOVERING, when the
// slow-start ramp admits all normal traffic (rampShares); for the limiter,
// the time the calls in flight (inflight at the last close) take to drain
// at the route's throughput, when a slot is likely free. The latter two
// are at least a tick and at most maxShedRetry; a route whose throughput
// is not known yet keeps circuit.RetryAfter's second. Adapters jitter it.
func (s *State) RetryHint(now int64, tick time.Duration, inflight float64) time.Duration {
	switch s.Circ.Mode {
	case ModeCircuitOpen:
		return s.Circ.RetryAfter(now, tick)
	case ModeRecovering:
		left := max(rampFullTicks-int(s.Circ.ramp), 1)
		return min(max(time.Duration(left)*tick, tick), maxShedRetry)
	}
	if s.Lim.thr > 0 && !math.IsInf(s.Lim.thr, 0) {
		queue := math.Max(math.Max(inflight, s.Lim.Limit), 1)
		drain := time.Duration(math.Min(queue/s.Lim.thr, maxShedRetry.Seconds()) * 1e9)
		return min(max(drain, tick), maxShedRetry)
	}
	return s.Circ.RetryAfter(now, tick)
}
