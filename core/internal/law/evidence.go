package law

import "math"

// This file is the statistical evidence the circuit opens on (SPEC §3, the
// controller view): errors open a circuit only when they are significant,
// not when one call in ten failed on a quiet route.

// wilsonZ is the normal quantile of the confidence bounds: 95 %, two-sided.
const wilsonZ = 1.96

// WilsonLower is the Wilson score lower bound of a failure rate of k
// failures in n calls (fractional counts allowed): the lowest rate the
// evidence still supports. It is 0 without calls.
func WilsonLower(k, n float64) float64 {
	if !(n > 0) || !(k > 0) {
		return 0
	}
	k = math.Min(k, n)
	p := k / n
	z2 := wilsonZ * wilsonZ
	c := p + z2/(2*n)
	h := wilsonZ * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, (c-h)/(1+z2/n))
}

// Circuit evidence defaults.
const (
	evidenceTicks = 10  // time constant of the short window, in ticks (a second by default)
	certainTicks  = 2   // time constant of the last ticks' window
	failingRate   = 0.8 // four calls in five of the window failed...
	failingCalls  = 3   // ...over at least this many calls
	certainBound  = 0.8 // the lower bound of the last ticks' rate: failing beyond doubt
)

// errorWindow is a short, exponentially decaying window of calls and
// failures.
type errorWindow struct {
	Calls, Fails float64
}

// add decays the window over dtSec with time constant tauSec and adds one
// tick's counts.
func (w *errorWindow) add(calls, fails, dtSec, tauSec float64) {
	d := math.Exp(-dtSec / tauSec)
	w.Calls = w.Calls*d + calls
	w.Fails = w.Fails*d + fails
	if w.Calls < 1e-9 {
		*w = errorWindow{}
	}
}

// Rate is the window's failure share (0 without calls).
func (w *errorWindow) Rate() float64 {
	if w.Calls <= 0 {
		return 0
	}
	return w.Fails / w.Calls
}

// Failing: nearly all of enough recent calls failed. A dependency that
// still answers a fair share of calls is worth calling: its callers (and
// their retries) still get answers, and the in-flight limit keeps its load
// in check; an open circuit is for one that is down, or all but.
func (w *errorWindow) Failing() bool {
	return w.Calls >= failingCalls && w.Rate() >= failingRate
}

// Certain: so many calls failed that the failure rate is high beyond
// doubt (over the last ticks, a window with the tick as its time
// constant); this opens a circuit at once, even in bootstrap.
func (w *errorWindow) Certain() bool { return WilsonLower(w.Fails, w.Calls) >= certainBound }
