package atrion

import (
	"math"
	"testing"
	"time"
)

// The retry hint follows the route's state: the open circuit's time left,
// the recovery ramp's remaining half, the limiter's drain time, each
// bounded; hostile limiter values never escape the bounds.
func TestRetryHint(t *testing.T) {
	tick := 100 * time.Millisecond
	st := routeState{p: &params{recovery: 20}}
	st.circ = circuit{mode: ModeOperational}
	if got := st.retryHint(0, tick); got != time.Second {
		t.Fatalf("no throughput known: %v, want the 1 s fallback", got)
	}
	// 40 in flight draining at 200/s: 200 ms
	st.lim = limiter{limit: 32, thr: 200}
	st.inflight = 40
	if got := st.retryHint(0, tick); got != 200*time.Millisecond {
		t.Fatalf("drain time %v, want 200ms", got)
	}
	// a fast route: at least a tick
	st.lim.thr, st.inflight = 1e6, 10
	if got := st.retryHint(0, tick); got != tick {
		t.Fatalf("fast route: %v, want a tick", got)
	}
	// a slow one: at most a second
	st.lim.thr = 0.5
	if got := st.retryHint(0, tick); got != time.Second {
		t.Fatalf("slow route: %v, want 1s", got)
	}
	for _, thr := range []float64{math.Inf(1), math.NaN(), -5, math.SmallestNonzeroFloat64} {
		st.lim.thr = thr
		if got := st.retryHint(0, tick); got < tick || got > time.Second {
			t.Fatalf("throughput %v: hint %v outside [tick, 1s]", thr, got)
		}
	}
	st.circ = circuit{mode: ModeRecovering, ramp: 10}
	if got := st.retryHint(0, tick); got != 500*time.Millisecond {
		t.Fatalf("recovering with 10 of 20 ticks left: %v, want 500ms", got)
	}
	st.circ = circuit{mode: ModeCircuitOpen, since: 0, minOpen: 3 * time.Second}
	if got := st.retryHint(int64(time.Second), tick); got != 2*time.Second {
		t.Fatalf("open with 2 s left: %v", got)
	}
}
