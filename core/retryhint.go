package atrion

import (
	"math"
	"time"
)

// maxShedRetry bounds the retry hint of a shed or a recovering
// rejection: past it, the route's state will have changed anyway.
const maxShedRetry = time.Second

// retryHint is the hint a rejection carries (Decision.RetryAfter),
// derived from the route's state rather than fixed: for an open circuit,
// when its minimum open time ends (circuit.retryAfter); in RECOVERING,
// half the ramp's remaining ticks, when normal traffic's share is most of
// the way up; for the limiter, the time the calls in flight take to drain
// at the route's throughput, when a slot is likely free. The latter two
// are at least a tick and at most maxShedRetry; a route whose throughput
// is not known yet keeps circuit.retryAfter's second. Adapters jitter it.
// Caller holds mu.
func (st *routeState) retryHint(now int64, tick time.Duration) time.Duration {
	switch st.circ.mode {
	case ModeCircuitOpen:
		return st.circ.retryAfter(now, tick)
	case ModeRecovering:
		left := max(st.p.recovery-st.circ.ramp, 1)
		return min(max(time.Duration(left)*tick/2, tick), maxShedRetry)
	}
	if st.lim.thr > 0 && !math.IsInf(st.lim.thr, 0) {
		queue := math.Max(math.Max(st.inflight, st.lim.limit), 1)
		drain := time.Duration(math.Min(queue/st.lim.thr, maxShedRetry.Seconds()) * 1e9)
		return min(max(drain, tick), maxShedRetry)
	}
	return st.circ.retryAfter(now, tick)
}
