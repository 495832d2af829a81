package atrion

import (
	"github.com/atrion-go/atrion/core/internal/law"
	"time"
)

// What observers are told: one Event per route tick and per transition.

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventTick       EventKind = iota // a route's tick closed
	EventTransition                  // a route changed mode (From → To)
)

// String returns tick or transition.
func (k EventKind) String() string {
	if k == EventTransition {
		return "transition"
	}
	return "tick"
}

// TunerStats is a route's AutoTuner state.
type TunerStats struct {
	Mean, StdDev float64 // EMA mean and deviation of healthy R
	Samples      int     // healthy ticks learned
	Break        float64 // learned break point
	Recovery     float64 // learned recovery point
	Enforced     bool    // the learned points decide (warm, not shadow, not disabled)
}

// Event reports one route tick or one mode transition to observers.
type Event struct {
	Kind          EventKind
	Route         string
	Time          time.Time     // end of the tick
	Tick          uint64        // ticks with samples so far
	Dt            time.Duration // length of the interval the physics ran over
	Mode          Mode          // mode after the tick
	From, To      Mode          // for EventTransition
	Resistance    float64
	Momentum      float64
	Scar          float64
	PressureNorm  float64    // ‖P‖
	PositiveNorm  float64    // ‖P⁺‖
	Pressure      [3]float64 // latency, error, saturation
	BreakPoint    float64    // break point in force
	RecoveryPoint float64    // recovery point in force
	Tuner         TunerStats
	// Limit is the route's adaptive in-flight limit and InFlight the
	// requests in flight at the tick's close.
	Limit, InFlight float64
	// ErrorRate is the failure share of the short evidence window and
	// ErrorBound its 95 % Wilson lower bound.
	ErrorRate, ErrorBound float64
	// counts in the tick
	Admitted, Shed, Succeeded, Failed, Ignored uint64
	// Slow counts requests whose callers gave up after waiting past the
	// latency baseline (Canceled): slow samples, not failures.
	Slow uint64
	// Latency is the mean latency of the tick's timed calls (0: none).
	Latency time.Duration
}

// event builds an Event from the route's state. Caller holds mu.
func (r *route) event(kind EventKind, end int64, dt time.Duration, from Mode) Event {
	st := &r.st
	return Event{
		Kind: kind, Route: r.id, Time: r.env.clock.wall(end), Tick: st.ticks, Dt: dt,
		Mode: st.mode(), From: from, To: st.mode(),
		Resistance: st.R, Momentum: st.Momentum, Scar: st.Scar,
		PressureNorm: st.Norm, PositiveNorm: st.Pos, Pressure: st.Pressure,
		BreakPoint: st.BreakPoint, RecoveryPoint: st.RecoveryPoint, Tuner: st.tunerStats(),
		Limit: st.Lim.Limit, InFlight: st.inflight, ErrorRate: st.Win.Rate(),
		ErrorBound: law.WilsonLower(st.Win.Fails, st.Win.Calls),
	}
}

func (st *routeState) tunerStats() TunerStats {
	b, rc := st.Tuner.Thresholds(st.TP)
	return TunerStats{
		Mean: st.Tuner.Mean, StdDev: st.Tuner.StdDev(), Samples: st.Tuner.Samples,
		Break: b, Recovery: rc,
		Enforced: st.TunerEnforced(),
	}
}
