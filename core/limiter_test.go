package atrion

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
		l := limiter{limit: c.limit, peak: 40, thr: 500}
		if c.limit == 1 {
			l.thr = 0 // nothing has completed for long
		}
		f := base
		c.facts(&f)
		before := l.limit
		l.update(f)
		if !c.check(before, l.limit) {
			t.Errorf("%s: limit %.2f → %.2f, want it %s", c.name, before, l.limit, c.want)
		}
	}
}

// The Little's-law floor keeps a busy route's limit at the concurrency it
// demonstrably sustains, and the cap keeps an idle route's limit within
// reach of its recent peak.
func TestLimiterFloorAndCap(t *testing.T) {
	// 2,000 successes a second at a 20 ms no-load latency: 40 in flight
	l := limiter{limit: 50, peak: 50, thr: 2000}
	for range 50 {
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 200, noLoadMs: 20, successes: 200, inflight: 50, peak: 50})
	}
	if l.limit < 39 {
		t.Fatalf("limit %.1f fell below the Little's-law floor of ~40", l.limit)
	}
	idle := limiter{limit: 1000, peak: 5}
	idle.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 20, noLoadMs: 20, successes: 5, inflight: 2, peak: 5})
	if idle.limit > limitCapFactor*5+1e-9 && idle.limit > limitMinCap {
		t.Fatalf("idle limit %.1f above %v × its peak 5", idle.limit, limitCapFactor)
	}
	first := limiter{}
	first.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 20, noLoadMs: 20, successes: 30, inflight: 3, peak: 30})
	if first.limit != limitCapFactor*30 {
		t.Fatalf("first limit %.1f, want the cap %v × the first peak 30", first.limit, limitCapFactor)
	}
}

// Under a worker pool's overload the limit settles above the workers,
// where latency is within the tolerance (2×) of the no-load latency: every
// worker busy and a queue of about one service time, never more.
func TestLimiterSettlesAboveCapacity(t *testing.T) {
	const workers, serviceMs = 40.0, 20.0
	l := limiter{limit: 160, peak: 160}
	for range 300 {
		n := l.limit // the limit binds: demand is 10×
		lat := serviceMs * math.Max(1, n/workers)
		thr := math.Min(n, workers) / serviceMs * 1000
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: lat, noLoadMs: serviceMs, successes: thr / 10, inflight: n, peak: n})
	}
	if lat := serviceMs * l.limit / workers; l.limit < workers || lat > limitTolerance*serviceMs*1.2 {
		t.Fatalf("limit settled at %.1f for %v workers (latency %.0f ms), want ≥ the workers and latency within %v× of %v ms (+20 %%)",
			l.limit, workers, lat, limitTolerance, serviceMs)
	}
}

func TestBands(t *testing.T) {
	if b := bands(0, 0); b != ([5]uint64{}) {
		t.Fatalf("no limit yet must give no bands: %v", b)
	}
	b := bands(40, 40)
	hi := func(p Priority) int64 { return int64(b[p.index()] & math.MaxUint32) }
	lo := func(p Priority) int64 { return int64(b[p.index()] >> 32) }
	if lo(PriorityCritical) <= hi(PriorityHigh) {
		t.Fatalf("critical traffic must be shed last, past the limit: critical from %d, high all at %d", lo(PriorityCritical), hi(PriorityHigh))
	}
	if !(hi(PriorityHigh) > hi(PriorityNormal) && hi(PriorityNormal) > hi(PriorityLow) && hi(PriorityLow) > hi(PriorityBulk)) {
		t.Fatalf("lower priorities must hit the limit first: %v", b)
	}
	if hi(PriorityHigh) != 40*256 {
		t.Fatalf("high traffic may fill the whole limit: hi %d, want %d", hi(PriorityHigh), 40*256)
	}
	// a tiny limit still admits one call of every priority
	for _, p := range []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow, PriorityBulk} {
		if overBand(0, bands(0.3, 0.3)[p.index()], 0) {
			t.Fatalf("%v shed with nothing in flight under a limit of 0.3", p)
		}
	}
}

// Inside a band the shed share grows with in-flight: a share of the
// decision hashes, not a cliff.
func TestOverBandGraded(t *testing.T) {
	band := bands(100, 100)[PriorityNormal.index()] // 81..90 in flight
	share := func(in int64) float64 {
		n := 0
		for i := range uint64(10000) {
			if overBand(in, band, weyl(i)) {
				n++
			}
		}
		return float64(n) / 10000
	}
	if s := share(80); s != 0 {
		t.Fatalf("below the band: shed %.3f, want 0", s)
	}
	if s := share(90); s != 1 {
		t.Fatalf("at the top of the band: shed %.3f, want 1", s)
	}
	lo, mid := share(82), share(86)
	if !(lo > 0 && lo < mid && mid < 1) {
		t.Fatalf("inside the band the share must grow: %.3f at 82, %.3f at 86", lo, mid)
	}
}

// A cut of the limit is held back for critical traffic for about a
// second: the critical calls that find the calls admitted before the cut
// still in flight are not shed.
func TestCriticalBandHeldThroughACut(t *testing.T) {
	l := limiter{limit: 100, peak: 100, held: 100}
	l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 1000, noLoadMs: 20, inflight: 100, peak: 100})
	if l.limit > 60 {
		t.Fatalf("deep queueing: limit %.1f, want it cut", l.limit)
	}
	b := bands(l.limit, l.held)
	hi := func(p Priority) float64 { return float64(b[p.index()]&math.MaxUint32) / 256 }
	if hi(PriorityNormal) > 0.9*l.limit+1 || hi(PriorityCritical) < 1.5*100 {
		t.Fatalf("after a cut to %.1f: normal band up to %.1f, critical up to %.1f: want normal cut, critical held near 2 × 100", l.limit, hi(PriorityNormal), hi(PriorityCritical))
	}
	for range 50 { // five seconds later the hold has let go
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, latencyMs: 1000, noLoadMs: 20, inflight: l.limit, peak: l.limit})
	}
	if l.held > 2*l.limit+1 {
		t.Fatalf("held %.1f five seconds after the cut to %.1f", l.held, l.limit)
	}
}
