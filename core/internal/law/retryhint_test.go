package law

import (
	"math"
	"testing"
	"time"
)

// The retry hint follows the route's state: the open circuit's time left,
// the recovery ramp's ticks until it admits all normal traffic, the
// limiter's drain time, each bounded; hostile limiter values never escape
// the bounds.
func TestRetryHint(t *testing.T) {
	tick := 100 * time.Millisecond
	s := State{P: testParams()}
	s.Circ = circuit{Mode: ModeOperational}
	if got := s.RetryHint(0, tick, 0); got != time.Second {
		t.Fatalf("no throughput known: %v, want the 1 s fallback", got)
	}
	// 40 in flight draining at 200/s: 200 ms
	s.Lim = limiter{Limit: 32, thr: 200}
	if got := s.RetryHint(0, tick, 40); got != 200*time.Millisecond {
		t.Fatalf("drain time %v, want 200ms", got)
	}
	// a fast route: at least a tick
	s.Lim.thr = 1e6
	if got := s.RetryHint(0, tick, 10); got != tick {
		t.Fatalf("fast route: %v, want a tick", got)
	}
	// a slow one: at most a second
	s.Lim.thr = 0.5
	if got := s.RetryHint(0, tick, 10); got != time.Second {
		t.Fatalf("slow route: %v, want 1s", got)
	}
	for _, thr := range []float64{math.Inf(1), math.NaN(), -5, math.SmallestNonzeroFloat64} {
		s.Lim.thr = thr
		if got := s.RetryHint(0, tick, 10); got < tick || got > time.Second {
			t.Fatalf("throughput %v: hint %v outside [tick, 1s]", thr, got)
		}
	}
	s.Circ = circuit{Mode: ModeRecovering, ramp: 1}
	if got := s.RetryHint(0, tick, 0); got != 3*tick {
		t.Fatalf("recovering one healthy tick in: %v, want the 3 ticks until the ramp admits all", got)
	}
	s.Circ = circuit{Mode: ModeRecovering, ramp: 10}
	if got := s.RetryHint(0, tick, 0); got != tick {
		t.Fatalf("recovering, ramp full: %v, want a tick", got)
	}
	s.Circ = circuit{Mode: ModeCircuitOpen, Since: 0, minOpen: 3 * time.Second}
	if got := s.RetryHint(int64(time.Second), tick, 0); got != 2*time.Second {
		t.Fatalf("open with 2 s left: %v", got)
	}
}
