package law

import "math"

// tuner is one route's AutoTuner (SPEC §2, §3.5): an exponential moving mean
// and variance of R over healthy OPERATIONAL ticks, from which the route's
// break and recovery points are derived. Not safe for concurrent use; the
// route's lock guards it.
type tuner struct {
	Mean, variance float64
	Samples        int
}

// TunerParams is a resolved AutoTunerConfig.
type TunerParams struct {
	Disabled, Shadow      bool
	K, Alpha              float64
	MinFloor, HardCeiling float64
	Warmup                int
}

// observe feeds one healthy tick's R: δ = x − μ; μ ← μ + αδ;
// var ← (1−α)(var + αδ²). The first sample seeds the mean.
func (t *tuner) observe(x, alpha float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	if t.Samples == 0 {
		t.Mean = x
		t.Samples = 1
		return
	}
	d := x - t.Mean
	t.Mean += alpha * d
	t.variance = (1 - alpha) * (t.variance + alpha*d*d)
	t.Samples++
}

// stddev is σ of the learned distribution.
func (t *tuner) StdDev() float64 { return math.Sqrt(t.variance) }

// Thresholds returns the learned break and recovery points:
// break = clamp(μ + kσ, minFloor, hardCeiling); recovery = max(minFloor/2, break/2).
func (t *tuner) Thresholds(tp *TunerParams) (breakPoint, recoveryPoint float64) {
	breakPoint = t.Mean + tp.K*t.StdDev()
	breakPoint = math.Min(math.Max(breakPoint, tp.MinFloor), tp.HardCeiling)
	recoveryPoint = math.Max(tp.MinFloor/2, breakPoint/2)
	return breakPoint, recoveryPoint
}

// warm reports whether the tuner has seen its warm-up ticks.
func (t *tuner) warm(tp *TunerParams) bool { return t.Samples >= tp.Warmup }
