package atrion

import "math"

// tuner is one route's AutoTuner (SPEC §2, §3.5): an exponential moving mean
// and variance of R over healthy OPERATIONAL ticks, from which the route's
// break and recovery points are derived. Not safe for concurrent use; the
// route's lock guards it.
type tuner struct {
	mean, variance float64
	samples        int
}

// tunerParams is a resolved AutoTunerConfig.
type tunerParams struct {
	disabled, shadow      bool
	k, alpha              float64
	minFloor, hardCeiling float64
	warmup                int
}

// observe feeds one healthy tick's R: δ = x − μ; μ ← μ + αδ;
// var ← (1−α)(var + αδ²). The first sample seeds the mean.
func (t *tuner) observe(x, alpha float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	if t.samples == 0 {
		t.mean = x
		t.samples = 1
		return
	}
	d := x - t.mean
	t.mean += alpha * d
	t.variance = (1 - alpha) * (t.variance + alpha*d*d)
	t.samples++
}

// stddev is σ of the learned distribution.
func (t *tuner) stddev() float64 { return math.Sqrt(t.variance) }

// thresholds returns the learned break and recovery points:
// break = clamp(μ + kσ, minFloor, hardCeiling); recovery = max(minFloor/2, break/2).
func (t *tuner) thresholds(tp *tunerParams) (breakPoint, recoveryPoint float64) {
	breakPoint = t.mean + tp.k*t.stddev()
	breakPoint = math.Min(math.Max(breakPoint, tp.minFloor), tp.hardCeiling)
	recoveryPoint = math.Max(tp.minFloor/2, breakPoint/2)
	return breakPoint, recoveryPoint
}

// warm reports whether the tuner has seen its warm-up ticks.
func (t *tuner) warm(tp *tunerParams) bool { return t.samples >= tp.warmup }
