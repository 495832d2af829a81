package law

import "testing"

// Callers that tell their patience with their deadlines cap the latency
// the limit allows as learned patience does: at 35 ms against a 20 ms
// no-load latency the limit grows for callers who wait a second and
// shrinks for callers who wait 40 ms (the queue would outlast 0.7 × 40).
func TestLimiterToldPatience(t *testing.T) {
	for _, c := range []struct {
		toldMs float64
		grows  bool
	}{{0, true}, {1000, true}, {40, false}} {
		l := limiter{Limit: 40, peak: 40, thr: 500}
		l.update(limitFacts{dtSec: 0.1, tickSec: 0.1, noLoadMs: 20, successes: 50, inflight: 40, peak: 40, latencyMs: 35, toldMs: c.toldMs})
		if grew := l.Limit > 40; grew != c.grows {
			t.Errorf("told %v ms: limit 40 → %.2f, want it to grow: %v", c.toldMs, l.Limit, c.grows)
		}
	}
}
