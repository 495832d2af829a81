package atrion

import "math"

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
// overload is no reason to shed. One the route does overload is, even
// when its slowness is its own: the gradient cannot tell a queue from a
// slower dependency (see the README's reading of the Boiling Frog).

// Limiter defaults.
const (
	limitTolerance = 2 // latency within this factor of no-load is no queueing
	limitMin       = 1 // a limit never shuts a route: one call at a time probes it
	limitMax       = 1e6
	limitMinCap    = 16 // the cap for a quiet route
	limitCapFactor = 4  // the cap relative to recent peak in-flight
	limitGrowth    = 0.25
	peakMemorySec  = 10 // the recent peak in-flight decays with this time constant
	throughputSec  = 1  // smoothing of completions per second for the floor
	heldSec        = 1  // how long a fall of the limit is held back for critical traffic
)

// limiter is one route's in-flight limit. The zero value has no limit yet:
// the first tick with evidence sets one.
type limiter struct {
	limit float64 // 0: none yet
	peak  float64 // recent peak in-flight, decaying
	thr   float64 // smoothed successful completions per second
	// held is the limit with its falls held back for about a second:
	// critical traffic's share is reckoned from it, so that a cut of the
	// limit never sheds the critical calls that find the calls admitted
	// before it still in flight
	held float64
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
	if l.limit == 0 {
		l.limit = capacity
	}
	lim := l.limit
	bound := f.shed > 0 || peak >= 0.8*lim
	if bound && !math.IsNaN(f.latencyMs) && f.latencyMs > 0 && f.noLoadMs > 0 {
		// adjust about once per round trip: a slow route's completions
		// show a change of its limit only a round trip later
		pace := math.Min(1, f.tickSec*1000/math.Max(f.noLoadMs, 1e-3))
		g := limitTolerance * f.noLoadMs / f.latencyMs
		if g >= 1 {
			lim += pace * math.Max(math.Sqrt(lim), limitGrowth*lim)
		} else {
			// smoothed, except at the clamp: deep queueing is cut at once
			step := 0.5
			if g <= 0.5 {
				g, step = 0.5, 1
			}
			lim += pace * step * (g*(lim+math.Sqrt(lim)) - lim)
		}
	}
	floor := l.thr * f.noLoadMs / 1000
	l.limit = math.Min(capacity, math.Max(lim, math.Max(limitMin, floor)))
	l.held = math.Max(l.limit, l.held*math.Exp(-f.dtSec/heldSec))
}

// Priority shares of the limit (SPEC's Ohm's-law view, I = V/R): each
// priority may fill the share bandHi of the limit, shedding a growing
// share of its requests from bandLo × that on. Critical traffic is shed
// last: it may fill twice the limit, when every other
// priority has long been shed, so that critical demand beyond what the
// service can serve still queues no further than that.
var bandHi = [5]float64{2, 1, 0.9, 0.75, 0.6} // critical, high, normal, low, bulk

const bandLo = 0.9

// bands packs each priority's in-flight band for the hot path: lo<<32 | hi,
// both in 1/256ths of a request; 0 means no limit. Critical traffic's band
// is reckoned from held, the limit with its falls held back.
func bands(limit, held float64) (b [5]uint64) {
	if limit <= 0 || math.IsNaN(limit) {
		return b
	}
	for i, share := range bandHi {
		ref := limit
		if i == 0 {
			ref = math.Max(limit, held)
		}
		hi := math.Min(math.MaxUint32, math.Max(256, math.Round(256*ref*share)))
		lo := math.Round(hi * bandLo)
		b[i] = uint64(lo)<<32 | uint64(hi)
	}
	return b
}

// overBand reports whether a request that finds in requests in flight is
// shed by band: always at or above hi, never below lo, and in between for
// the share (in − lo)/(hi − lo) of the decision hashes h.
func overBand(in int64, band uint64, h uint32) bool {
	hi, lo := int64(band&math.MaxUint32), int64(band>>32)
	x := in << 8
	switch {
	case x >= hi:
		return true
	case x < lo:
		return false
	}
	return uint64(h)*uint64(hi-lo) < uint64(x-lo)<<32
}
