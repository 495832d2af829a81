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
	// Demand is what the route is asked for beside what it takes in:
	// (admitted + shed) ÷ admitted, where admitted and shed are the
	// requests admitted and those the in-flight limit rejected
	// (ReasonShed), both counted over the last 10 ticks (one second at
	// the default tick; a silent stretch counts as empty ticks) and
	// admitted counted as at least one. 1 while the limit sheds nothing, an idle
	// route included; 1.5 when it sheds one request for every two it
	// admits, so the route would need half as much capacity again. The
	// circuit's rejections (circuit open, recovering, voltage) are not
	// counted: they are the route's health, not its capacity, and more
	// capacity would not cure them.
	Demand float64
	// Leaked is the requests in flight far past the route's latency (50
	// baselines, at least 2 s): Tickets never settled, or handlers that
	// never return (Stats.LeakedTickets). While the route's other calls
	// finish, they are not in InFlight and not counted against Limit.
	Leaked float64
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
	Decisions uint64     // admitted + rejected
	Admitted  uint64     // requests admitted
	Rejected  Rejections // requests rejected, by reason; Rejected.Total() is all of them
	Successes uint64     // outcomes: Success
	Failures  uint64     // outcomes: Failure
	Ignored   uint64     // outcomes: Ignored, and Canceled before the latency baseline
	Slow      uint64     // outcomes: Canceled after waiting past the latency baseline: slow samples
}

// Rejections are a route's rejections by reason (a banned key is rejected
// before any route counts it: BanStats.Rejected).
type Rejections struct {
	CircuitOpen uint64 // ReasonCircuitOpen: the circuit was open
	Shed        uint64 // ReasonShed: the in-flight limit
	Recovering  uint64 // ReasonRecovering: outside the recovery ramp's share
	Voltage     uint64 // ReasonVoltage: the voltage did not beat the resistance (Route)
	KeyShare    uint64 // ReasonKeyShare: the client key was over its share of the limit
	Deadline    uint64 // ReasonDeadline: the caller's deadline was too short to serve the call in
}

// Total returns the rejections for every reason.
func (r Rejections) Total() uint64 {
	return r.CircuitOpen + r.Shed + r.Recovering + r.Voltage + r.KeyShare + r.Deadline
}

// For returns the rejections for why (0 for ReasonAdmitted, ReasonBanned
// and unknown reasons).
func (r Rejections) For(why Reason) uint64 {
	switch why {
	case ReasonCircuitOpen:
		return r.CircuitOpen
	case ReasonShed:
		return r.Shed
	case ReasonRecovering:
		return r.Recovering
	case ReasonVoltage:
		return r.Voltage
	case ReasonKeyShare:
		return r.KeyShare
	case ReasonDeadline:
		return r.Deadline
	}
	return 0
}

// set sets the rejections for why, one of a route's reasons.
func (r *Rejections) set(why Reason, n uint64) {
	switch why {
	case ReasonCircuitOpen:
		r.CircuitOpen = n
	case ReasonShed:
		r.Shed = n
	case ReasonRecovering:
		r.Recovering = n
	case ReasonVoltage:
		r.Voltage = n
	case ReasonKeyShare:
		r.KeyShare = n
	case ReasonDeadline:
		r.Deadline = n
	}
}

// Shed returns the rejections for every reason.
//
// Deprecated: use t.Rejected.Total(); t.Rejected.Shed is the in-flight
// limit's alone.
func (t Totals) Shed() uint64 { return t.Rejected.Total() }

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
		t.Rejected.set(Reason(i+1), st.rejTotal[i]+uint64(v-st.lastRej[i]))
	}
	// refused before the route counted a decision (AdmitKey)
	t.Rejected.KeyShare = r.keyShareRejections()
	t.Decisions += t.Rejected.KeyShare
	t.Rejected.Deadline = r.deadlineRejections() // the same (AdmitWithin)
	t.Decisions += t.Rejected.Deadline
	t.Admitted = t.Decisions - min(t.Decisions, t.Rejected.Total())
	t.Successes = (c.succ + failUnit/2) / failUnit
	t.Failures = (c.fail + failUnit/2) / failUnit
	t.Ignored = st.ignTotal + uint64(c.ign-st.lastIgn)
	t.Slow = st.slowTotal + uint64(c.slow-st.lastSlow)
	byMode, sum := transitionsByMode(&st.byMode)
	return RouteSnapshot{
		Route: r.id, Mode: st.mode(), Resistance: st.R, Momentum: st.Momentum, Scar: st.Scar,
		Pressure: st.Pressure, PressureNorm: st.Norm, PositiveNorm: st.Pos,
		BreakPoint: st.BreakPoint, RecoveryPoint: st.RecoveryPoint, Tuner: st.tunerStats(),
		LatencyBaseline: time.Duration(st.Baseline() * 1e6),
		LatencyFloor:    time.Duration(st.Floor.Ms * 1e6),
		Limit:           st.Lim.Limit, InFlight: r.inflightNow(), Demand: st.demand.demand(), Leaked: float64(r.leak.old),
		ErrorRate: st.Win.Rate(), ErrorBound: law.WilsonLower(st.Win.Fails, st.Win.Calls),
		Ticks: st.ticks, Transitions: sum, TransitionsByMode: byMode,
		LastTick: r.env.clock.wall(st.lastEnd), Totals: t,
	}
}

// transitionsByMode returns the transitions by mode and their sum.
func transitionsByMode(m *[4][4]uint32) (out [4][4]uint64, sum uint64) {
	for i := range m {
		for j := range m[i] {
			out[i][j] = uint64(m[i][j])
			sum += out[i][j]
		}
	}
	return out, sum
}

// Pressure indices in a pressure vector.
const (
	PressureLatency    = 0
	PressureError      = 1
	PressureSaturation = 2
)
