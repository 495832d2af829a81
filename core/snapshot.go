package atrion

import (
	"time"

	"github.com/atrion-go/atrion/core/internal/law"
)

// RouteSnapshot is a route's state at one moment.
type RouteSnapshot struct {
	Route         string
	Mode          Mode
	Resistance    float64
	Momentum      float64
	Scar          float64
	Pressure      [3]float64 // latency, error, saturation
	PressureNorm  float64    // ‖P‖
	PositiveNorm  float64    // ‖P⁺‖, the check valve
	BreakPoint    float64    // break point in force
	RecoveryPoint float64    // recovery point in force
	Tuner         TunerStats
	// LatencyBaseline is the latency baseline in use (SLO or learned).
	LatencyBaseline time.Duration
	// LatencyFloor is the learned no-load latency the in-flight limit
	// measures queueing against (0 until learned).
	LatencyFloor time.Duration
	// Limit is the adaptive in-flight limit (0 until the first tick);
	// InFlight the requests in flight now.
	Limit    float64
	InFlight float64
	// ErrorRate is the failure share of the short evidence window (about
	// a second of calls) and ErrorBound its 95 % Wilson lower bound.
	ErrorRate, ErrorBound float64
	Ticks                 uint64 // ticks with samples
	Transitions           uint64 // mode transitions so far
	// TransitionsByMode counts transitions so far by [from][to] mode.
	TransitionsByMode [4][4]uint64
	LastTick          time.Time // end of the last closed tick
	Totals            Totals
}

// Totals are a route's cumulative counters.
type Totals struct {
	Decisions uint64 // admitted + rejected
	Admitted  uint64
	Rejected  [numReasons]uint64 // by Reason (index ReasonAdmitted is unused)
	Successes uint64
	Failures  uint64
	Ignored   uint64 // Ignored, and Canceled before the latency baseline
	Slow      uint64 // Canceled after waiting past the latency baseline: slow samples
}

// Shed returns the total of rejections for every reason.
func (t Totals) Shed() (n uint64) {
	for _, v := range t.Rejected {
		n += v
	}
	return n
}

// Snapshot returns routeID's state, after closing the ticks that have
// ended. ok is false when the route is not tracked; Snapshot never
// creates a route.
func (a *Atrion) Snapshot(routeID string) (RouteSnapshot, bool) {
	r := a.routes.tracked(routeID)
	if r == nil {
		return RouteSnapshot{}, false
	}
	r.closeEndedTicks(a.clock.now())
	return r.snapshot(), true
}

// Snapshots returns every tracked route's state, settled to now.
func (a *Atrion) Snapshots() []RouteSnapshot {
	rs := a.routes.snapshot()
	now := a.clock.now()
	out := make([]RouteSnapshot, 0, len(rs))
	for _, r := range rs {
		r.closeEndedTicks(now)
		out = append(out, r.snapshot())
	}
	return out
}

func (r *route) snapshot() RouteSnapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &r.st
	var t Totals
	c := r.ctr.totals()
	t.Decisions = c.seq
	for i, v := range c.rej { // since the last tick close, modulo 2³²
		t.Rejected[i+1] = st.rejTotal[i+1] + uint64(v-st.lastRej[i])
	}
	t.Admitted = t.Decisions - min(t.Decisions, t.Shed())
	t.Successes = (c.succ + failUnit/2) / failUnit
	t.Failures = (c.fail + failUnit/2) / failUnit
	t.Ignored = st.ignTotal + uint64(c.ign-st.lastIgn)
	t.Slow = st.slowTotal + uint64(c.slow-st.lastSlow)
	return RouteSnapshot{
		Route: r.id, Mode: st.mode(), Resistance: st.R, Momentum: st.Momentum, Scar: st.Scar,
		Pressure: st.Pressure, PressureNorm: st.Norm, PositiveNorm: st.Pos,
		BreakPoint: st.BreakPoint, RecoveryPoint: st.RecoveryPoint, Tuner: st.tunerStats(),
		LatencyBaseline: time.Duration(st.Baseline() * 1e6),
		LatencyFloor:    time.Duration(st.Floor.Ms * 1e6),
		Limit:           st.Lim.Limit, InFlight: r.inflightNow(),
		ErrorRate: st.Win.Rate(), ErrorBound: law.WilsonLower(st.Win.Fails, st.Win.Calls),
		Ticks: st.ticks, Transitions: st.transitions, TransitionsByMode: byMode(&st.byMode),
		LastTick: r.env.clock.wall(st.lastEnd), Totals: t,
	}
}

func byMode(m *[4][4]uint32) (out [4][4]uint64) {
	for i := range m {
		for j := range m[i] {
			out[i][j] = uint64(m[i][j])
		}
	}
	return out
}

// Pressure indices in a pressure vector.
const (
	PressureLatency    = 0
	PressureError      = 1
	PressureSaturation = 2
)
