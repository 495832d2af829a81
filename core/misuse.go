package atrion

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// Misuse that speaks: the mistakes a new user makes (a nil option, an
// Update after Close, a Ticket never settled, raw paths for route IDs)
// become an error, a counter and a line through WithLogger, never silence.

// ErrClosed is returned by Update on an engine that Close has stopped.
var ErrClosed = errors.New("atrion: engine closed")

// checkSinks names the first nil observer or audit sink in cfg: a nil
// would otherwise panic inside New, or later on a background goroutine.
func checkSinks(cfg *config) error {
	for i, o := range cfg.observers {
		if f, ok := o.(ObserverFunc); o == nil || ok && f == nil {
			return fieldErr("WithObserver", "nil", "an observer is required (observer "+strconv.Itoa(i)+")")
		}
	}
	for i, s := range cfg.audits {
		if f, ok := s.(AuditFunc); s == nil || ok && f == nil {
			return fieldErr("WithAudit", "nil", "an audit sink is required (sink "+strconv.Itoa(i)+")")
		}
	}
	return nil
}

// misuseEvery is how often one kind of misuse may be logged: a service
// making the mistake on every request logs it once a minute.
const misuseEvery = time.Minute

// logLimit lets one kind of line through at most once per misuseEvery.
type logLimit struct{ at atomic.Int64 } // engine ns + 1 of the last line; 0: none yet

// allow reports whether a line may be logged at now (engine ns).
func (l *logLimit) allow(now int64) bool {
	last := l.at.Load()
	if last != 0 && now-(last-1) < int64(misuseEvery) {
		return false
	}
	return l.at.CompareAndSwap(last, now+1)
}

// misuseLog is where routes and the table say that they were misused.
type misuseLog struct {
	logger          *slog.Logger
	overflow, leaks logLimit
}

// overflowed logs, at a bounded rate, that routeID fell into the
// overflow route (Stats.OverflowHits counts every time).
func (a *Atrion) overflowed(routeID string, invalid bool) {
	if !a.misuse.overflow.allow(a.clock.coarseNow()) {
		return
	}
	if invalid {
		a.misuse.logger.Warn("atrion: an empty or over-long route ID falls into the overflow route; route IDs are route templates",
			"len", len(routeID), "overflow_hits", a.stats.overflowHits.Load())
		return
	}
	a.misuse.logger.Warn("atrion: the route table is full: new route IDs share the overflow route. "+
		"Route IDs must be route templates (GET /users/:id), not raw paths; or raise WithMaxRoutes",
		"route", truncate(routeID, 64), "max_routes", a.maxRoutes, "overflow_hits", a.stats.overflowHits.Load())
}

// Leaked tickets. An admitted request whose Ticket is never settled stays
// in flight for good: without a word, the limit would find the route ever
// fuller and shed it all. A route cannot tell one such ticket from a
// request that hangs, so it watches ages. At each mark (every leakAge or
// more) it notes its in-flight, all admitted before the mark; requests
// settled since that were admitted before it are counted on Done (one load
// and a compare, no write unless the ticket is that old). At the next
// mark, the in-flight noted less those settled is the requests in flight
// for a whole leakAge or more, far past the route's latency: leaked.
//
// They are counted (Stats.LeakedTickets, RouteSnapshot.Leaked) and logged
// at a bounded rate. While the route's other calls finish healthily, they,
// and the share of later admissions expected to leak the same way, are
// not counted against the in-flight limit, so forgetting Done on one call
// in ten does not shed the route. When nothing finishes (every call
// leaked, or a dependency that hangs with no timeout), nothing is written
// off: the limit holds the route to a probe, as it must for a hang.

// leakAge is the least age of a leaked ticket: 50 latency baselines, at
// least 2 s and 2 ticks (a caller's timeout is usually within it, so a
// hang whose callers give up is seen as slow samples, never as leaks).
func leakAge(baselineMs float64, tick time.Duration) int64 {
	return max(int64(2*time.Second), 2*int64(tick), int64(50*baselineMs*1e6))
}

const (
	leakMaxShare   = 0.5 // a larger share of calls never finishing is no leak to write off
	leakHealthyMin = 10  // calls finished in an epoch, at least, for it to be healthy
)

// leakWatch is a route's watch for leaked tickets, 32 bytes that fill the
// route's padding (its health is in routeState). mark and open are
// atomics that Done reads and counts down; the rest is under the route's
// mu.
type leakWatch struct {
	mark atomic.Int64 // engine ns of the current mark; 0: none yet
	// open is the tickets admitted before mark still open: in flight at
	// the mark, less those settled since (Done counts it down)
	open  atomic.Int32
	ended float32 // calls finished (successes and failures) since the mark
	old   float32 // in flight since before the last mark but one: leaked
	share float32 // of admissions, the share that leaked
	cur   float32 // admissions since the mark
	prev  float32 // admissions between the last two marks
}

// noteSettled counts, on Done, a ticket admitted at start (Ticket.start)
// before the route's leak mark.
func (r *route) noteSettled(start int64) {
	at := start - 1
	if start < 0 {
		at = -start - 1
	}
	if at < r.leak.mark.Load() {
		r.leak.open.Add(-1)
	}
}

// rawInflight is the route's requests in flight as counted, leaks and
// all; below zero after a Done on a copy of a Ticket. Caller holds mu.
func (r *route) rawInflight() float64 {
	return float64(int32(r.ctr.inflight()) + int32(r.untracked.Load()))
}

// leakCorrection is the in-flight written off as leaked, of raw in flight:
// the leaked tickets, and the share of the admissions since they were
// counted expected to leak the same way; none unless the route's calls
// finish. Caller holds mu.
func (r *route) leakCorrection(raw float64) float64 {
	w := &r.leak
	if !r.st.leakHealthy || raw <= 0 {
		return 0
	}
	return math.Min(raw, float64(w.old)+float64(w.share)*float64(w.prev+w.cur))
}

// watchLeaks folds in the tick ending at end (its counters c) and returns
// the in-flight the limit counts: in flight, less the leaked write-off,
// never below zero. Caller holds mu.
func (r *route) watchLeaks(end int64, c *tickCounts) float64 {
	st, w := &r.st, &r.leak
	raw := r.rawInflight()
	w.cur += float32(c.admitted)
	w.ended += float32(c.succ + c.fail)
	if m := w.mark.Load(); m == 0 || end-m >= leakAge(st.Baseline(), r.env.tick) {
		if m != 0 {
			r.closeLeakEpoch(end, m, raw)
		}
		w.prev, w.cur, w.ended = w.cur, 0, 0
		r.setLeakMark()
	}
	return math.Max(0, raw-r.leakCorrection(raw))
}

// setLeakMark notes the route's in-flight as the tickets open at a new
// mark. A Done racing it may count a ticket down that was not counted
// open (the leaks found read a little low), never leave one counted open
// that was settled: while in-flight is read, every Done counts down, and
// one counted down after that stays counted down. The mark is the precise
// time after the read, not the tick's end: a ticket is timed by the
// precise clock, and may have been admitted, and counted, after the tick
// ended by the coarse clock's reckoning. Caller holds mu.
func (r *route) setLeakMark() {
	w := &r.leak
	w.mark.Store(math.MaxInt64)
	o := w.open.Load()
	w.open.Add(int32(max(0, r.rawInflight())) - o)
	w.mark.Store(r.env.clock.now())
}

// closeLeakEpoch counts the tickets leaked by the mark m, at end with raw
// in flight. Caller holds mu.
func (r *route) closeLeakEpoch(end, m int64, raw float64) {
	st, w := &r.st, &r.leak
	old := math.Max(0, math.Min(raw, float64(w.open.Load())))
	fresh := math.Max(0, old-float64(w.old))
	w.old = float32(old)
	// the fresh leaks were admitted in the epoch before the one just ended
	w.share = 0
	if w.prev > 0 {
		w.share = float32(math.Min(1, fresh/float64(w.prev)))
	}
	// healthy: the epoch's calls finished, as a hang's do not
	ended := float64(w.ended)
	st.leakHealthy = ended >= leakHealthyMin && ended >= (1-leakMaxShare)*float64(w.cur) && w.share <= leakMaxShare
	if fresh >= 1 {
		r.env.stats.leakedTickets.Add(uint64(fresh))
	}
	if old >= 1 && r.env.misuse.leaks.allow(end) {
		r.env.misuse.logger.Warn("atrion: requests in flight far past their route's latency: a Ticket never settled "+
			"(call t.Done once per admitted request), or a handler that never returns",
			"route", truncate(r.id, 64), "in_flight_over", time.Duration(end-m).Round(100*time.Millisecond).String(), "count", int64(old),
			"latency_baseline", time.Duration(st.Baseline()*1e6).String(),
			"written_off", st.leakHealthy)
	}
}
