package law

import (
	"math"
	"testing"
)

// Given a limiter and one tick's facts, when it updates, then its limit
// moves as the control law says.
func TestLimiterUpdate(t *testing.T) {
	base := limitFacts{dtSec: 0.1, tickSec: 0.1, noLoadMs: 20, successes: 50, inflight: 40, peak: 40}
	for _, c := range []struct {
		name  string
		limit float64
		facts func(f *limitFacts)
		check func(before, after float64) bool
		want  string
	}{
		{"binding, no queueing: grows", 40, func(f *limitFacts) { f.latencyMs = 21 }, func(b, a float64) bool { return a > b }, "grows"},
		{"binding, queueing: shrinks", 40, func(f *limitFacts) { f.latencyMs = 80 }, func(b, a float64) bool { return a < b }, "shrinks"},
		{"app-limited, slow dependency: holds", 160, func(f *limitFacts) { f.latencyMs = 80 }, func(b, a float64) bool { return a == b }, "holds"},
		{"no latency evidence: holds", 40, func(f *limitFacts) { f.latencyMs = math.NaN() }, func(b, a float64) bool { return a == b }, "holds"},
		{"no-load latency unknown: holds", 40, func(f *limitFacts) { f.latencyMs = 80; f.noLoadMs = 0 }, func(b, a float64) bool { return a == b }, "holds"},
		{"shedding counts as binding", 100, func(f *limitFacts) { f.latencyMs = 80; f.shed = 5; f.peak, f.inflight = 30, 30 }, func(b, a float64) bool { return a < b }, "shrinks"},
		{"hang: cut hard, floor gone", 40, func(f *limitFacts) { f.latencyMs = 1000; f.successes = 0 }, func(b, a float64) bool { return a <= 0.8*b }, "≤ 80 %"},
		{"callers giving up, latency within tolerance: shrinks", 40, func(f *limitFacts) { f.latencyMs = 30; f.ended, f.abandoned = 50, 25 }, func(b, a float64) bool { return a < b }, "shrinks"},
		{"a few callers giving up is noise: grows", 40, func(f *limitFacts) { f.latencyMs = 21; f.ended, f.abandoned = 50, 2 }, func(b, a float64) bool { return a > b }, "grows"},
		{"never below one", 1, func(f *limitFacts) { f.latencyMs = 1000; f.successes = 0; f.peak, f.inflight = 1, 1 }, func(b, a float64) bool { return a == 1 }, "1"},
	} {
		l := limiter{Limit: c.limit, peak: 40, thr: 500}
		if c.limit == 1 {
			l.thr = 0 // nothing has completed for long
		}
		f := base
		c.facts(&f)
		before := l.Limit
		l.update(f)
		if !c.check(before, l.Limit) {
			t.Errorf("%s: limit %.2f → %.2f, want it %s", c.name, before, l.Limit, c.want)
		}
	}
}

// The Little's-law floor keeps a busy route's limit at the concurrency it
// demonstrably sustains, and the cap keeps an idle route's limit within
// reach of its recent peak.
func TestLimiterFloorAndCap(t *testing.T) {
	// 2,000 successes a second at a 20 ms no-load latency: 40 in flight
	l := limiter{Limit: 50, peak: 50, thr: 2000}
	for range 50 {
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 200, noLoadMs: 20, successes: 200, inflight: 50, peak: 50})
	}
	if l.Limit < 39 {
		t.Fatalf("limit %.1f fell below the Little's-law floor of ~40", l.Limit)
	}
	idle := limiter{Limit: 1000, peak: 5}
	idle.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 20, noLoadMs: 20, successes: 5, inflight: 2, peak: 5})
	if idle.Limit > limitCapFactor*5+1e-9 && idle.Limit > limitMinCap {
		t.Fatalf("idle limit %.1f above %v × its peak 5", idle.Limit, limitCapFactor)
	}
	first := limiter{}
	first.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 20, noLoadMs: 20, successes: 30, inflight: 3, peak: 30})
	if first.Limit != limitCapFactor*30 {
		t.Fatalf("first limit %.1f, want the cap %v × the first peak 30", first.Limit, limitCapFactor)
	}
}

// Under a worker pool's overload the limit settles above the workers,
// where latency is within the tolerance (2×) of the no-load latency: every
// worker busy and a queue of about one service time, never more.
func TestLimiterSettlesAboveCapacity(t *testing.T) {
	const workers, serviceMs = 40.0, 20.0
	l := limiter{Limit: 160, peak: 160}
	for range 300 {
		n := l.Limit // the limit binds: demand is 10×
		lat := serviceMs * math.Max(1, n/workers)
		thr := math.Min(n, workers) / serviceMs * 1000
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: lat, noLoadMs: serviceMs, successes: thr / 10, inflight: n, peak: n})
	}
	if lat := serviceMs * l.Limit / workers; l.Limit < workers || lat > limitTolerance*serviceMs*1.2 {
		t.Fatalf("limit settled at %.1f for %v workers (latency %.0f ms), want ≥ the workers and latency within %v× of %v ms (+20 %%)",
			l.Limit, workers, lat, limitTolerance, serviceMs)
	}
}

// A cut of the limit is held back for critical traffic for about a
// second: the critical calls that find the calls admitted before the cut
// still in flight are not shed. Critical traffic's band reaches 2 × Held
// (the engine's bands), so Held must stay above 75 for it to pass 1.5 ×
// the limit before the cut.
func TestLimitHeldThroughACut(t *testing.T) {
	l := limiter{Limit: 100, peak: 100, Held: 100}
	l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 1000, noLoadMs: 20, inflight: 100, peak: 100})
	if l.Limit > 60 {
		t.Fatalf("deep queueing: limit %.1f, want it cut", l.Limit)
	}
	if l.Held < 75 {
		t.Fatalf("after a cut to %.1f: held %.1f, want it held near 100", l.Limit, l.Held)
	}
	for range 50 { // five seconds later the hold has let go
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 1000, noLoadMs: 20, inflight: l.Limit, peak: l.Limit})
	}
	if l.Held > 2*l.Limit+1 {
		t.Fatalf("held %.1f five seconds after the cut to %.1f", l.Held, l.Limit)
	}
}
