package atrion

import (
	"github.com/atrion-go/atrion/core/internal/law"
	"math"
	"sync/atomic"
	"time"
)

// Admission by the caller's deadline. A caller that will give up before
// the route can answer it costs the route a slot and the work of a call
// nobody reads: AdmitWithin refuses it at once (ReasonDeadline), before
// the route counts it, so it holds no slot and starts no work.
//
// What the route needs to serve a call now is at least its learned
// no-load latency (the latency floor: the service time of a call that
// meets no queue), and, where a queue stands, the time the calls in
// flight ahead of it take to leave at the route's pace (Little's law): a
// route that completes rate calls a second at its capacity, with n in
// flight, answers a call admitted now in about (n + 1) ÷ rate:
//
//	need = max(floor, (n + 1) ÷ rate)
//
// rate is learned on ticks whose latency shows a queue (past 1.5 × the
// floor), where completions are the capacity, not the demand; on ticks
// without one it can only rise, to the completions the route shows, so
// that a rate learned while the route was slow (a stall) cannot go on
// refusing what it serves now.
// Until the route has queued once there is no queueing term, and until
// its floor is known there is no check at all. It is an expected value: a call whose
// need is just within its time left may still miss it, but a call that
// could not be served in time even with no queue never starts.
//
// The deadlines also tell the limit how long callers wait
// (law.Tick.PatienceMs): the mean time left at admission of the tick's
// timed calls, which caps the queue the limit keeps, as the patience it
// learns from callers giving up does.

// deadlines is one route's admission by deadline: what the hot path reads
// (published at tick close) and counts. Out of line: most routes never see
// a deadline.
type deadlines struct {
	// read by AdmitWithin, written at tick close
	floorNs atomic.Int64 // the learned no-load latency; 0: not known, no check
	perCall atomic.Int64 // ns between completions at the route's capacity; 0: not known

	refused atomic.Uint64 // ReasonDeadline so far
	// told packs the tick's timed admissions' time left: Σ ms << tellShift
	// | count, swapped at tick close
	told atomic.Uint64

	// under the route's mu: completions per second at capacity, and
	// completions per second smoothed (over about rateSec)
	rate, thr float64
}

// tellShift: the count of told deadlines takes the low bits, up to 2²⁰
// per tick; each time left counts at most maxToldMs, so the sum's 44 bits
// hold 2²⁰ of them.
const (
	tellShift  = 20
	maxToldMs  = 1<<16 - 1 // about 65 s: a longer wait says no more to the limit
	rateSec    = 1         // smoothing of the capacity's completion rate, on ticks with a queue
	queueingAt = 1.5       // latency past this many no-load latencies shows a queue
)

// AdmitWithin is Admit for a request whose caller gives up in remaining
// (the time left before its deadline): when the route cannot serve it in
// that time now (its learned no-load latency plus the queueing it would
// meet, deadline.go), it is rejected at once with ReasonDeadline and no
// RetryAfter, before the route counts it, so that it holds no slot and
// starts no work. A remaining of zero or less (the deadline has passed) is
// always rejected. The callers' deadlines also tell the route's in-flight
// limit how long they wait. A request without a deadline takes Admit.
// Like Admit it does not allocate.
func (a *Atrion) AdmitWithin(routeID string, p Priority, remaining time.Duration) (t Ticket, d Decision) {
	a.admitWithin(a.lookup(routeID), p, remaining, &t, &d)
	return t, d
}

// AdmitWithin is a.AdmitWithin(h.ID(), p, remaining) without the lookup.
func (h *Handle) AdmitWithin(p Priority, remaining time.Duration) (t Ticket, d Decision) {
	h.a.admitWithin(h.route(), p, remaining, &t, &d)
	return t, d
}

// AdmitKeyWithin is AdmitKey for a request whose caller gives up in
// remaining: a request that cannot be served in time is rejected first,
// as AdmitWithin rejects it (its key is not judged on it).
func (a *Atrion) AdmitKeyWithin(routeID, key string, p Priority, remaining time.Duration) (t KeyTicket, d Decision) {
	a.admitKeyWithin(a.lookup(routeID), key, p, remaining, &t, &d)
	return t, d
}

// AdmitKeyWithin is a.AdmitKeyWithin(h.ID(), key, p, remaining) without
// the lookup.
func (h *Handle) AdmitKeyWithin(key string, p Priority, remaining time.Duration) (t KeyTicket, d Decision) {
	h.a.admitKeyWithin(h.route(), key, p, remaining, &t, &d)
	return t, d
}

func (a *Atrion) admitWithin(r *route, p Priority, remaining time.Duration, t *Ticket, d *Decision) {
	if !r.late(remaining, d) {
		a.admit(r, p, false, t, d)
		r.tell(t.start, remaining)
	}
}

func (a *Atrion) admitKeyWithin(r *route, key string, p Priority, remaining time.Duration, t *KeyTicket, d *Decision) {
	if !r.late(remaining, d) {
		a.admitKey(r, key, p, t, d)
		r.tell(t.start, remaining)
	}
}

// late decides whether a caller with remaining left is too late for the
// route, filling in d's refusal when it is.
func (r *route) late(remaining time.Duration, d *Decision) bool {
	dl := r.deadlines.Load()
	if dl == nil {
		dl = r.newDeadlines()
	}
	if remaining > 0 {
		need := dl.need(r)
		if need == 0 || int64(remaining) >= need {
			return false
		}
	}
	dl.refused.Add(1)
	d.Reason, d.Mode = ReasonDeadline, Mode(r.mode.Load())
	return true
}

// newDeadlines gives the route its deadlines, once, with the no-load
// latency it has learned so far: the first deadline is judged at once.
func (r *route) newDeadlines() *deadlines {
	r.mu.Lock()
	defer r.mu.Unlock()
	if dl := r.deadlines.Load(); dl != nil {
		return dl
	}
	dl := new(deadlines)
	dl.floorNs.Store(int64(r.st.Floor.Ms * 1e6))
	r.deadlines.Store(dl)
	return dl
}

// need is the time in ns the route needs to serve a call admitted now; 0:
// not known.
func (dl *deadlines) need(r *route) int64 {
	floor := dl.floorNs.Load()
	if floor <= 0 {
		return 0
	}
	per := dl.perCall.Load()
	if per <= 0 {
		return floor
	}
	// in flight now: on the base stripe alone it is exact and cheap; a
	// striped route is far from its limit (tick.go), where the sum over
	// its stripes is needed only for calls that carry a deadline
	var in int64
	if r.ctr.more.Load() == nil {
		s := &r.ctr.base
		in = int64(s.inflight(s.seq.Load())) + r.frozen.Load() + r.untracked.Load()
	} else {
		in = int64(r.rawInflight())
	}
	// the calls in flight and this one leave at the route's pace
	return max(floor, int64(min(float64(max(in, 0)+1)*float64(per), 1<<62)))
}

// tell counts the time left of a timed admission (start > 0: Ticket.start)
// for the limit's patience; sampled as latencies are, so that a busy
// route's callers add to it one in sampleEvery.
func (r *route) tell(start int64, remaining time.Duration) {
	if start <= 0 {
		return
	}
	ms := uint64(min(max(remaining.Milliseconds(), 1), maxToldMs))
	r.deadlines.Load().told.Add(ms<<tellShift | 1)
}

// deadlineRejections is the requests refused for their deadline so far.
func (r *route) deadlineRejections() uint64 {
	if dl := r.deadlines.Load(); dl != nil {
		return dl.refused.Load()
	}
	return 0
}

// closeDeadlines, at a data tick's close, gives the control law the
// patience the tick's callers told, learns how many calls the route
// serves at once and publishes what AdmitWithin reads. Caller holds mu.
func (r *route) closeDeadlines(t *law.Tick) {
	dl := r.deadlines.Load()
	if dl == nil {
		return
	}
	st := &r.st
	if v := dl.told.Swap(0); v&(1<<tellShift-1) > 0 {
		t.PatienceMs = float64(v>>tellShift) / float64(v&(1<<tellShift-1))
	}
	dtSec := t.Dt.Seconds()
	floorMs := st.Floor.Ms
	if served := t.Succ + t.Fail; dtSec > 0 && floorMs > 0 && served > 0 && t.Tel.LatencyMs > 0 {
		x := served / dtSec
		dl.thr += (1 - math.Exp(-dtSec/rateSec)) * (x - dl.thr)
		switch {
		case t.Tel.LatencyMs > queueingAt*floorMs:
			// a queue stands: the route completes calls at its capacity
			if dl.rate == 0 {
				dl.rate = x
			}
			dl.rate += (1 - math.Exp(-dtSec/rateSec)) * (x - dl.rate)
		case dl.rate > 0:
			// no queue: the route completes x a second and may complete
			// more; a rate learned in a slower past (a stall) must not
			// refuse what it serves now
			dl.rate = math.Max(dl.rate, dl.thr)
		}
	}
	dl.floorNs.Store(int64(floorMs * 1e6))
	if dl.rate > 0 {
		dl.perCall.Store(int64(1e9 / dl.rate))
	}
}

// route is the handle's route, looked up again when it was evicted, as
// Handle.Admit finds it (written out there: a call would cost the hot path
// more than these lines).
func (h *Handle) route() *route {
	r := h.r.Load()
	if r == nil || r.detached.Load() {
		r = h.a.lookup(h.id)
		h.r.Store(r)
	}
	return r
}
