package atrion

import (
	"math"
	"time"
)

// The earlier guard APIs, kept for their users, in one file: v1's
// CanAccept and ReportOutcome, v2's Route with a voltage, their types, and
// the two recording paths only they use (a fractional error share, a
// reported saturation).

// CanAccept reports whether a normal-priority request on routeID would be
// admitted now (the v1 guard API). It counts as a decision; report the
// request's outcome with ReportOutcome.
func (a *Atrion) CanAccept(routeID string) bool {
	var t Ticket
	var d Decision
	r := a.lookup(routeID)
	a.admit(r, PriorityNormal, false, &t, &d)
	if d.Allowed {
		r.untracked.Add(-1) // no Ticket will ever finish it
	}
	return d.Allowed
}

// ReportOutcome records one request's telemetry on routeID (the v1 API).
// Negative or absurd latencies and saturation outside [0, 1] are clamped,
// NaN saturation is dropped; all of them are counted as invalid input.
func (a *Atrion) ReportOutcome(routeID string, o Outcome) {
	r := a.lookup(routeID)
	r.closeEndedTicks(a.clock.coarseNow())
	lat := r.clampLatency(o.Latency)
	c := Success
	if o.IsError {
		c = Failure
	}
	r.record(c, lat)
	r.untracked.Add(1) // an outcome without a Ticket
	r.reported.Store(true)
	r.recordSaturation(o.Saturation)
}

// DefaultVoltage is the voltage Route uses when given 0 (or a non-finite or
// negative value).
const DefaultVoltage = 100

// Route applies telemetry to routeID, then decides with a voltage (the v2
// API): the request flows while the route's circuit is closed and its
// voltage beats the resistance. A voltage ≤ 0 or non-finite means
// DefaultVoltage.
func (a *Atrion) Route(routeID string, t Telemetry, voltage float64) Decision {
	r := a.lookup(routeID)
	r.closeEndedTicks(a.clock.coarseNow())
	lat := r.clampLatency(t.Latency)
	e := t.ErrorRate
	if !finite(e) || e < 0 || e > 1 {
		r.env.stats.invalidInputs.Add(1)
		if math.IsNaN(e) {
			e = 0
		}
		e = math.Min(1, math.Max(0, e))
	}
	r.recordShare(e, lat)
	r.reported.Store(true)
	r.recordSaturation(t.Saturation)
	if !finite(voltage) || voltage <= 0 {
		voltage = DefaultVoltage
	}
	var tk Ticket
	var d Decision
	a.admit(r, PriorityNormal, false, &tk, &d)
	if d.Allowed && d.Mode != ModeBootstrap && voltage < math.Float64frombits(r.rBits.Load()) {
		d.Allowed = false
		r.reject(r.ctr.stripe(), &d, ReasonVoltage)
	}
	if !d.Allowed {
		r.untracked.Add(1) // the outcome above came without an admission
	}
	return d
}

// Outcome is one request's telemetry for ReportOutcome.
type Outcome struct {
	Latency    time.Duration // negative values count as 0
	IsError    bool
	Saturation float64 // 0..1, clamped; NaN is ignored
}

// Telemetry is a batch of telemetry for Route: mean latency, error rate
// (0..1) and saturation (0..1). Out-of-range values are clamped, NaN
// components are ignored.
type Telemetry struct {
	Latency    time.Duration
	ErrorRate  float64
	Saturation float64
}

// recordShare records one sample, weighing one call, of which the share
// failShare (0..1) failed, with latency ns: Route's aggregate telemetry.
func (r *route) recordShare(failShare float64, latency int64) {
	fu := uint64(math.Round(failShare * failUnit))
	s := r.ctr.stripe()
	if fu > 0 {
		s.fail.Add(fu)
	}
	if fu < failUnit {
		s.succ.Add(failUnit - fu)
	}
	s.latSum.Add(latency)
	s.latN.Add(1)
}

// recordSaturation adds one saturation sample; NaN is dropped.
func (r *route) recordSaturation(s float64) {
	if math.IsNaN(s) {
		r.env.stats.invalidInputs.Add(1)
		return
	}
	if s < 0 || s > 1 {
		r.env.stats.invalidInputs.Add(1)
		s = math.Min(1, math.Max(0, s))
	}
	r.satSum.Add(uint64(s * 1e6))
	r.satN.Add(1)
}
