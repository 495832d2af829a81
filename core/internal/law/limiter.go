package law

import (
	"math"
)

// This file is the overload half of the control law (SPEC §3, the
// controller view): an adaptive in-flight limit per route, in the family
// of Netflix's Gradient2 and Vegas. It is a pure function of the tick's
// facts, like the physics: no clock, no locks, no I/O.
//
//   - Gradient: g = tolerance × noLoad / latency, clamped to [½, 1]. While
//     the limit binds and latency stays within tolerance of the route's
//     no-load latency, the limit grows (probing for capacity); once
//     latency shows queueing it moves to g × (limit + √limit), which
//     settles a little above the concurrency the service really serves at
//     once (√limit is Gradient2's queue allowance, scaled by g so that deep
//     queueing can bring the limit all the way down to one).
//   - Little's-law floor: completions per second × the no-load latency is
//     the concurrency the route demonstrably sustains; the limit never
//     falls below it, so noise cannot starve a busy service.
//   - Cap: capFactor × the recent peak in-flight, so an idle route's limit
//     does not drift out of reach of a sudden overload.
//
// The limit decreases only while it binds (peak in-flight near it, or
// requests shed by it): a slow dependency that the route does not
// overload is no reason to shed. Two lessons correct the gradient, which
// alone cannot tell a queue from a slower dependency:
//
//   - Cuts on trial: a cut that lowered throughput with in-flight and did
//     not lower latency drained no queue; the latency it could not lower
//     becomes the one queueing is measured against (the Boiling Frog).
//   - Patience: callers giving up is loss, and the limit cuts on it; the
//     latency at which they give up caps the latency the limit allows, so
//     a dependency whose no-load latency is half its callers' timeout is
//     not queued past it.

// Limiter defaults.
const (
	limitTolerance = 2 // latency within this factor of no-load is no queueing
	LimitMin       = 1 // a limit never shuts a route: one call at a time probes it
	limitMax       = 1e6
	limitMinCap    = 16 // the cap for a quiet route
	limitCapFactor = 4  // the cap relative to recent peak in-flight
	limitGrowth    = 0.25
	peakMemorySec  = 10  // the recent peak in-flight decays with this time constant
	throughputSec  = 1   // smoothing of completions per second for the floor
	heldSec        = 1   // how long a fall of the limit is held back for critical traffic
	abandonedNoise = 0.1 // share of a tick's calls whose callers may give up before it counts as loss
	patienceShare  = 0.7 // latency the limit allows, as a share of the callers' patience
)

// limiter is one route's in-flight limit. The zero value has no limit yet:
// the first tick with evidence sets one.
type limiter struct {
	Limit float64 // 0: none yet
	peak  float64 // recent peak in-flight, decaying
	thr   float64 // smoothed successful completions per second
	// Held is the limit with its falls held back for about a second:
	// critical traffic's share is reckoned from it, so that a cut of the
	// limit never sheds the critical calls that find the calls admitted
	// before it still in flight
	Held float64
	// learned is what cuts and callers have taught, from the route's
	// first cut or first caller giving up on (out of line: most routes
	// never cut)
	learned *lessons
}

// limitFacts is what one tick tells the limiter.
type limitFacts struct {
	dtSec     float64
	tickSec   float64 // the engine's tick, for the pace of adjustment
	latencyMs float64 // mean latency of the tick's calls, the stale in-flight included; NaN: none
	noLoadMs  float64 // the route's learned no-load latency; 0: not known yet
	successes float64 // successful completions in the tick
	inflight  float64 // in flight at the tick's close
	peak      float64 // highest in-flight seen during the tick
	shed      uint64  // requests the limit rejected in the tick
	ended     float64 // calls that ended in the tick: successes, failures and slow samples
	abandoned float64 // of them, slow samples: callers who gave up waiting
	shared    float64 // queueing the route's group shares, relative to its fastest member's no-load latency
	toldMs    float64 // the patience callers told with their deadlines; 0: none
}

// update moves the limit by one tick's facts.
func (l *limiter) update(f limitFacts) {
	if f.dtSec <= 0 {
		return
	}
	peak := math.Max(f.peak, f.inflight)
	l.peak = math.Max(peak, l.peak*math.Exp(-f.dtSec/peakMemorySec))
	l.thr += (1 - math.Exp(-f.dtSec/throughputSec)) * (f.successes/f.dtSec - l.thr)
	capacity := math.Min(limitMax, math.Max(limitMinCap, limitCapFactor*l.peak))
	if l.Limit == 0 {
		l.Limit = capacity
	}
	noLoad, lim := f.noLoadMs, l.Limit
	var patience float64
	if le := l.learned; le != nil {
		if le.slowMs > 0 && f.latencyMs < le.slowMs {
			// the dependency speeds up again: forget as fast as the floor learns
			le.slowMs = math.Max(f.noLoadMs, le.slowMs+floorDown*(f.latencyMs-le.slowMs))
		}
		if le.trial.on && le.trial.observe(f, peak) {
			// the cut lost calls and drained no queue: undo it, and measure
			// queueing from here on against the latency it could not lower
			le.slowMs = f.latencyMs
			lim = math.Max(lim, le.trial.limit)
		}
		noLoad = math.Max(noLoad, le.slowMs)
		patience = le.patience(f)
	} else if f.abandons() {
		l.learn().patience(f)
	}
	if f.toldMs > 0 && (patience == 0 || f.toldMs < patience) {
		patience = f.toldMs // told beats learned: callers need not give up first
	}
	bound := f.shed > 0 || peak >= 0.8*lim
	if bound && !math.IsNaN(f.latencyMs) && f.latencyMs > 0 && noLoad > 0 {
		// adjust about once per round trip: a slow route's completions
		// show a change of its limit only a round trip later. Growth waits
		// for the round trip the calls take now, so that a queue building
		// up shows before the limit has overshot it; a cut, for the no-load
		// round trip, so that deep queueing is cut at once
		pace := math.Min(1, f.tickSec*1000/math.Max(noLoad, 1e-3))
		target := limitTolerance * noLoad
		if patience > 0 {
			// a queue longer than the callers' patience serves nobody
			target = math.Min(target, patienceShare*patience)
		}
		g := target / f.latencyMs
		if f.abandons() {
			g = math.Min(g, 1-f.abandoned/f.ended) // callers giving up is loss
		}
		switch {
		case g >= 1 && f.shared >= GroupQueued:
			// within tolerance only because the group's queueing is taken
			// out: a queue others share is no room to grow into
		case g >= 1:
			pace = math.Min(pace, f.tickSec*1000/f.latencyMs)
			lim += pace * math.Max(math.Sqrt(lim), limitGrowth*lim)
			if l.learned != nil {
				l.learned.trial.on = false // the latency is back within tolerance: the cut drained a queue
			}
		default:
			if le := l.learn(); f.shared < GroupQueued && !le.trial.on {
				le.trial.start(l, f, peak)
			}
			// smoothed, except at the clamp: deep queueing is cut at once
			step := 0.5
			if g <= 0.5 {
				g, step = 0.5, 1
			}
			lim += pace * step * (g*(lim+math.Sqrt(lim)) - lim)
		}
	}
	floor := l.thr * noLoad / 1000
	l.Limit = math.Min(capacity, math.Max(lim, math.Max(LimitMin, floor)))
	l.Held = math.Max(l.Limit, l.Held*math.Exp(-f.dtSec/heldSec))
}

// Cuts on trial. Shedding serves its callers only if it drains a queue.
// Below saturation a route's throughput follows its in-flight (X = N/W);
// at saturation it does not: a queue drains at the service's pace whatever
// is admitted. So the first cut of a route opens a trial: once the cut has
// had two round trips to take effect, windows of a second compare in-flight
// and throughput with the trial's start. In-flight that fell by a quarter or
// more, with throughput that fell at least halfway as much and latency
// that did not fall as a queue's would, was no queue: the latency is the
// dependency's own. Only served calls testify (a hang's time out and never
// do), only a route whose queueing no group shares (a route cut in a
// queue others keep full would look the same), and the pressure baseline
// is untouched, so R still shows the slowdown.
const (
	trialFall     = 0.75 // in-flight must fall at least to this share of the trial's start
	trialServed   = 0.9  // share of the window's ended calls that must be successes
	trialMinCalls = 10   // successes in the window, at least
	trialWindow   = 1.0  // seconds of the measuring window, at least
	trialMaxSec   = 30   // a trial that cannot tell by then ends
	GroupQueued   = 0.5  // shared queueing (÷ the group's fastest no-load latency) that counts: no growth, no trial
)

// lessons is what a route's cuts and callers have taught its limit.
type lessons struct {
	slowMs     float64 // latency that cuts have shown not to be queueing; 0: none
	patienceMs float64 // latency at which callers give up; 0: none seen
	trial      trial
}

func (l *limiter) learn() *lessons {
	if l.learned == nil {
		l.learned = new(lessons)
	}
	return l.learned
}

// abandons reports a tick in which more callers gave up than noise.
func (f *limitFacts) abandons() bool { return f.ended > 0 && f.abandoned > abandonedNoise*f.ended }

// patience learns, and returns, the latency at which callers give up: the
// lowest tick latency that saw them give up, raised by any tick served
// without that at a higher latency (callers evidently wait that long).
func (le *lessons) patience(f limitFacts) float64 {
	switch {
	case math.IsNaN(f.latencyMs) || !(f.latencyMs > 0):
	case f.abandons():
		if le.patienceMs == 0 || f.latencyMs < le.patienceMs {
			le.patienceMs = f.latencyMs
		}
	case le.patienceMs > 0 && f.abandoned == 0 && f.successes >= trialMinCalls && f.latencyMs > le.patienceMs:
		le.patienceMs = f.latencyMs
	}
	return le.patienceMs
}

type trial struct {
	on                bool
	limit, in, thr    float64 // at the start
	latMs             float64
	sec               float64 // since the start
	wSec, wIn, wSucc  float64 // the measuring window
	wEnded, wLatMsSec float64
}

func (t *trial) start(l *limiter, f limitFacts, in float64) {
	*t = trial{on: true, limit: l.Limit, in: in, thr: l.thr, latMs: f.latencyMs}
}

// observe folds in one tick and reports a futile cut; a verdict either
// way ends the trial.
func (t *trial) observe(f limitFacts, in float64) (futile bool) {
	t.sec += f.dtSec
	settle := 2 * math.Max(t.latMs, f.latencyMs) / 1000
	if f.shared >= GroupQueued {
		t.on = false // a queue others share is in the latency: no telling
		return false
	}
	if t.sec < settle || math.IsNaN(f.latencyMs) {
		return false
	}
	t.wSec += f.dtSec
	t.wIn += in * f.dtSec
	t.wSucc += f.successes
	t.wEnded += f.ended
	t.wLatMsSec += f.latencyMs * f.dtSec
	if t.wSec < math.Max(trialWindow, settle/2) {
		return false
	}
	fall := t.wIn / t.wSec / t.in
	if fall > trialFall {
		// not cut far enough yet to tell: measure the next window
		t.wSec, t.wIn, t.wSucc, t.wEnded, t.wLatMsSec = 0, 0, 0, 0, 0
		t.on = t.sec < trialMaxSec
		return false
	}
	t.on = false
	halfway := (1 + fall) / 2
	return t.wSucc >= trialMinCalls && t.wSucc >= trialServed*t.wEnded &&
		t.wSucc/t.wSec <= halfway*t.thr &&
		t.wLatMsSec/t.wSec >= halfway*t.latMs
}
