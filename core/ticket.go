package atrion

import (
	"time"
)

// The hot path: Admit decides, the Ticket it returns settles once with
// Done or DoneLatency.

// Ticket is an admitted request's handle; call Done once when the request
// finishes. A ticket settles once: Done (or DoneLatency) records the
// outcome and marks the ticket settled, and later calls on it are no-ops,
// counted in Stats.RepeatedDones. Keep one Ticket per request: a copy made
// before Done does not know its original settled, so Done on both counts
// the request's outcome twice (a Ticket carries no shared state to tell,
// which keeps Admit free of allocations); the route's in-flight then
// reads 0, not −1. Pass *Ticket, or the Ticket by value before Done only
// to the one place that settles it. A Ticket never settled stays in
// flight: it is counted and logged as leaked (Stats.LeakedTickets). The
// zero Ticket
// (returned with a rejection) is valid and its Done does nothing. A Ticket
// is not safe for concurrent use.
type Ticket struct {
	r *route
	// start is engine ns + 1 when timed; when not, −(coarse engine ns + 1),
	// which only tells a cancellation how long its caller waited; 0 once
	// settled
	start int64
}

// Admit decides whether a request on routeID may proceed. When
// d.Allowed, finish the request with t.Done; when not, reject it and pass
// d.RetryAfter on. It does not allocate and never blocks on I/O.
func (a *Atrion) Admit(routeID string, p Priority) (t Ticket, d Decision) {
	a.admit(a.lookup(routeID), p, false, &t, &d)
	return t, d
}

// admit decides on a request on r into *t and *d, which must be zero: one
// atomic add and a few loads, written field by field through pointers (a
// returned Decision is block-copied: benchmarks/hotpath/README.md).
// within is true for a keyed request whose key is within its share of the
// route (share_keys.go): the route's limit sheds it only where it sheds
// critical requests, as its key's own share already bounds it.
func (a *Atrion) admit(r *route, p Priority, within bool, t *Ticket, d *Decision) {
	coarse := a.clock.coarseNow()
	r.closeEndedTicks(coarse)
	// the decision's number, which spreads graded shedding and picks the
	// requests to time, counts per stripe: each stripe's numbers are a
	// sequence of their own, evenly spread all the same
	s := r.ctr.stripe()
	n := s.seq.Add(1)
	m := Mode(r.mode.Load())
	d.Mode = m
	pi := p.index()
	if p < PriorityCritical || p > PriorityBulk {
		r.env.stats.invalidInputs.Add(1) // clamped to the nearest priority
	}
	switch m {
	case ModeCircuitOpen:
		if !r.takeProbe() {
			r.reject(s, d, ReasonCircuitOpen)
			return
		}
	case ModeRecovering:
		// a ramp, not a flood; its first rejection of a tick goes through,
		// so a quiet route still gets evidence
		if th := r.rampTh[pi].Load(); th != 0 && weyl(n) < th && !r.takeProbe() {
			r.reject(s, d, ReasonRecovering)
			return
		}
	}
	// the in-flight limit, where in-flight is exact (counters.go)
	bi := pi
	if within {
		bi = 0
	}
	if m != ModeCircuitOpen && s == &r.ctr.base && r.overLimit(s, n, bi) {
		r.reject(s, d, ReasonShed)
		return
	}
	d.Allowed = true
	t.r = r
	if r.sampled(n) {
		t.start = a.clock.now() + 1
	} else {
		t.start = -coarse - 1
	}
}

// Done records the request's outcome; latency is measured since Admit.
// Unknown classes count as Ignored. Only the first call on a ticket
// counts.
func (t *Ticket) Done(c Class) {
	// small enough to inline: the caller's ticket is marked settled in
	// place, and the outcome goes to the route in registers
	start := t.start
	t.start = 0
	if t.r != nil {
		t.r.done(start, c)
	}
}

// done records the outcome of a ticket admitted at start (Ticket.start;
// 0: already settled).
func (r *route) done(start int64, c Class) {
	if start == 0 {
		r.env.stats.repeatedDones.Add(1)
		return
	}
	if c > Canceled {
		c = Ignored
	}
	clk := r.env.clock
	lat := int64(-1)
	if start > 0 && c != Ignored {
		lat = max(0, clk.now()-(start-1))
	}
	r.outcome(c, lat, start, clk.coarseNow())
}

// outcome is Done's and DoneLatency's shared tail: it closes any tick
// that has ended first (the outcome is evidence about now), then records
// an outcome of class c (at most Canceled) with latency lat (−1: none) of
// a ticket admitted at start, at coarse engine time.
func (r *route) outcome(c Class, lat, start, coarse int64) {
	r.closeEndedTicks(coarse)
	switch {
	case c != Canceled:
		r.record(c, lat)
	case lat >= 0:
		r.cancelled(lat, true)
	default: // untimed: how long the caller waited, to the coarse clock
		r.cancelled(coarse-(-start-1), false)
	}
	// after the outcome counts: a tick close before it found the ticket in
	// flight, and the mark it set is the one this compares with
	r.noteSettled(start)
}

// DoneLatency records the request's outcome with a latency the caller
// measured, for work whose duration is not its latency (a stream's time to
// first response, say). Negative or absurd latencies are clamped and
// counted as invalid input. Like Done, it settles the ticket once.
func (t *Ticket) DoneLatency(c Class, latency time.Duration) {
	r := t.r
	if r == nil {
		return
	}
	if t.start == 0 {
		r.env.stats.repeatedDones.Add(1)
		return
	}
	start := t.start
	t.start = 0
	if c > Canceled {
		c = Ignored
	}
	lat := int64(-1)
	if c != Ignored {
		lat = r.clampLatency(latency)
	}
	r.outcome(c, lat, start, r.env.clock.coarseNow())
}

// Route returns the route ID this ticket belongs to ("" for the zero Ticket).
func (t *Ticket) Route() string {
	if t.r == nil {
		return ""
	}
	return t.r.id
}

// maxLatency bounds a reported latency; longer ones are clamped and counted.
const maxLatency = time.Hour

func (r *route) clampLatency(l time.Duration) int64 {
	if l < 0 {
		r.env.stats.invalidInputs.Add(1)
		return 0
	}
	if l > maxLatency {
		r.env.stats.invalidInputs.Add(1)
		return int64(maxLatency)
	}
	return int64(l)
}
