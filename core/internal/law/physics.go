package law

import "math"

// This file is the physics kernel of SPEC §2: pure functions of state,
// telemetry and Δt. No clock, no locks, no I/O.

// Params is the resolved physics of one route: every default applied,
// every value validated.
type Params struct {
	BaseR      float64    // R_base
	Decay      float64    // λ, 1/s
	ScarFactor float64    // σ
	Damping    float64    // μ, seconds
	PCrit      float64    // P_crit
	BreakMult  float64    // static break point = baseR × breakMult
	Bootstrap  int        // ticks
	TanhK      float64    // k
	Recovery   int        // RECOVERING ticks before OPERATIONAL
	Weights    [3]float64 // w_j = ln(1 + criticality_j)
	BaseErr    float64    // error baseline b_error
	BaseSat    float64    // saturation baseline b_sat
}

// staticPoints are the break and recovery points in force while the
// AutoTuner does not decide: baseR × breakMult and half that.
func (p *Params) staticPoints() (breakPoint, recoveryPoint float64) {
	breakPoint = p.BaseR * p.BreakMult
	return breakPoint, breakPoint / 2
}

// Telemetry is one tick's aggregate: mean latency (ms), error rate and
// mean saturation. A NaN component means "no evidence" and yields zero
// pressure.
type Telemetry struct {
	LatencyMs  float64
	ErrorRate  float64
	Saturation float64
}

// normPressure is p = tanh(k·(x−b)/b); non-finite inputs or results and
// b ≤ 0 give 0.
func normPressure(x, b, k float64) float64 {
	if b <= 0 || math.IsNaN(b) || math.IsInf(b, 0) || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Tanh(k * (x - b) / b)
	if math.IsNaN(p) || math.IsInf(p, 0) {
		return 0
	}
	return p
}

// pressureVector maps a tick's telemetry to the normalised pressure vector
// (latency, error, saturation).
func pressureVector(t Telemetry, latencyBaselineMs float64, p *Params) [3]float64 {
	return [3]float64{
		normPressure(t.LatencyMs, latencyBaselineMs, p.TanhK),
		normPressure(t.ErrorRate, p.BaseErr, p.TanhK),
		normPressure(t.Saturation, p.BaseSat, p.TanhK),
	}
}

// weightedPressure is P·W, signed: better than baseline lowers R.
func weightedPressure(pv, w [3]float64) float64 {
	return pv[0]*w[0] + pv[1]*w[1] + pv[2]*w[2]
}

// norms returns ‖P‖ and the check valve ‖P⁺‖: only positive pressure is trauma.
func norms(pv [3]float64) (full, positive float64) {
	for _, v := range pv {
		full += v * v
		if v > 0 {
			positive += v * v
		}
	}
	return math.Sqrt(full), math.Sqrt(positive)
}

// momentum is M = ‖P(t) − P(t−1)‖ / Δt, Δt in seconds.
func momentum(cur, prev [3]float64, dtSec float64) float64 {
	if dtSec <= 0 {
		return 0
	}
	var s float64
	for i := range cur {
		d := cur[i] - prev[i]
		s += d * d
	}
	return math.Sqrt(s) / dtSec
}

// decayScar is scar tissue healing over Δt: S·e^(−λΔt), clamped ≥ 0.
func decayScar(s, lambda, dtSec float64) float64 {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	if math.IsInf(s, 1) {
		s = math.MaxFloat64
	}
	s *= math.Exp(-lambda * dtSec)
	if s < 1e-9 { // healed: stop reporting vanishing scar
		return 0
	}
	return s
}

// resistance is R = max(R_base, R_base + P·W + μ·M + S).
func resistance(baseR, pw, damping, m, scar float64) float64 {
	r := baseR + pw + damping*m + scar
	if !(r > baseR) || math.IsInf(r, 0) { // also catches NaN
		if math.IsInf(r, 1) {
			return math.MaxFloat64
		}
		return baseR
	}
	return r
}

// stepResult is the outcome of one physics step.
type stepResult struct {
	pressure     [3]float64
	pw           float64
	norm, posNrm float64
	momentum     float64
	scar         float64
	resistance   float64
	trauma       bool
}

// step runs the physics for one tick of Δt seconds. withSamples false is a
// silent tick: zero pressure, scar decays, no trauma (silence is not
// trauma). warm false (bootstrap) suppresses momentum and scar; withMomentum
// false (the tick that completes bootstrap) suppresses momentum only.
func step(p *Params, prevPressure [3]float64, prevScar float64, t Telemetry, latencyBaselineMs, dtSec float64, withSamples, warm, withMomentum bool) stepResult {
	var res stepResult
	if withSamples {
		res.pressure = pressureVector(t, latencyBaselineMs, p)
	}
	res.pw = weightedPressure(res.pressure, p.Weights)
	res.norm, res.posNrm = norms(res.pressure)
	if !warm {
		res.resistance = 1.2 * p.BaseR
		return res
	}
	if withSamples && withMomentum {
		res.momentum = momentum(res.pressure, prevPressure, dtSec)
	}
	res.scar = decayScar(prevScar, p.Decay, dtSec)
	if withSamples && res.posNrm > p.PCrit {
		res.trauma = true
		res.scar += p.ScarFactor
	}
	res.resistance = resistance(p.BaseR, res.pw, p.Damping, res.momentum, res.scar)
	return res
}
