package law

import "math"

// Learned latency baselines (SPEC §3.6). Where no SLO latency is set, a
// route learns its no-load latency from the low latencies it shows: a
// tick faster than the learned floor pulls it down quickly, a slower one
// lifts it only slowly, and never above floorCeiling × the lowest floor
// the route has shown, so neither an overload at start-up nor a slow leak
// can become the new normal. Only ticks without failures teach it (a fast
// failure is no latency), and only while the in-flight limit does not bind
// (an overload's latency is no one's no-load latency). The pressure baseline is learnedHeadroom × the
// floor; the in-flight limit measures queueing against the floor itself.
const (
	defaultLatencyMs = 100 // the baseline before anything is learned
	learnedHeadroom  = 2
	floorCeiling     = 1.5
	floorDown        = 0.25 // share of the way to a faster tick, per tick
	floorUpSec       = 30   // time constant of the slow rise
	minBaselineMs    = 1
	maxBaselineMs    = 60_000
)

// latencyFloor is one route's learned no-load latency, in ms. The zero
// value knows nothing.
type latencyFloor struct {
	Ms, lowest float64
}

// learn folds in one healthy tick's mean latency over dtSec seconds.
func (f *latencyFloor) learn(latMs, dtSec float64) {
	if !(latMs > 0) || math.IsInf(latMs, 0) {
		return
	}
	latMs = math.Min(maxBaselineMs, latMs)
	switch {
	case f.Ms == 0:
		f.Ms = latMs
	case latMs < f.Ms:
		f.Ms += floorDown * (latMs - f.Ms)
	default:
		f.Ms += (1 - math.Exp(-dtSec/floorUpSec)) * (latMs - f.Ms)
	}
	if f.lowest == 0 || f.Ms < f.lowest {
		f.lowest = f.Ms
	}
	f.Ms = math.Min(f.Ms, floorCeiling*f.lowest)
}

// baseline is the pressure baseline in ms: the SLO's when set, else
// learnedHeadroom × the learned floor, else the default.
func (f *latencyFloor) baseline(sloMs float64) float64 {
	if sloMs > 0 {
		return sloMs
	}
	if f.Ms > 0 {
		return clampBaseline(learnedHeadroom * f.Ms)
	}
	return defaultLatencyMs
}

func clampBaseline(ms float64) float64 { return math.Min(maxBaselineMs, math.Max(minBaselineMs, ms)) }
