package hop

import (
	"math"
	"sync/atomic"
)

// Client-side adaptive throttling (Google SRE book, "Handling Overload"):
// a client that sees its requests refused by a server's pushback rejects
// locally with probability max(0, (requests − K·accepts)/(requests + 1))
// over a short window, so that it stops sending what the server would
// refuse, and resumes sending as the server accepts again.

// ThrottleK is K: a client sends up to K times what the server accepts.
// 2 wastes some of the server's work on rejections but lets the client
// notice recovery quickly (the SRE book's recommendation).
const ThrottleK = 2

// Window geometry: throttling looks back ThrottleBuckets buckets of
// BucketNs each (2 s); retry budgets BudgetBuckets (10 s).
const (
	BucketNs        = int64(250e6)
	ThrottleBuckets = 8
	BudgetBuckets   = 40
)

// bucket counts one BucketNs of a window. Resetting a bucket that a new
// period reuses races with concurrent adds, which may be lost or counted
// in the new period: the window is an estimate, never a lock.
type bucket struct {
	epoch atomic.Int64 // the period (ns / BucketNs) the counts are for, +1 (0: never used)
	a, b  atomic.Int64
}

// window is a ring of buckets over the last len(buckets) periods.
type window []bucket

// at returns the bucket of period p, reset if it held an older one.
func (w window) at(p int64) *bucket {
	b := &w[p%int64(len(w))]
	if e := b.epoch.Load(); e != p+1 {
		if e < p+1 && b.epoch.CompareAndSwap(e, p+1) {
			b.a.Store(0)
			b.b.Store(0)
		}
	}
	return b
}

// sums returns the counts of the window's periods up to p.
func (w window) sums(p int64) (a, b int64) {
	lo := p - int64(len(w)) + 1
	for i := range w {
		bk := &w[i]
		if e := bk.epoch.Load() - 1; e >= lo && e <= p {
			a += bk.a.Load()
			b += bk.b.Load()
		}
	}
	return a, b
}

// period is the bucket period of a time in ns (any epoch; negative times
// count as 0).
func period(ns int64) int64 { return max(ns, 0) / BucketNs }

// Throttle is one dependency's adaptive throttle: requests (a) and
// accepts (b) over the last ThrottleBuckets periods. The zero value is
// not usable; Throttles makes them.
type Throttle struct {
	w window
	n atomic.Uint64 // decisions, spread by weyl into a deterministic share
}

// Allow decides whether a request at time now (ns) may be sent. A
// request the throttle rejects counts as a request at once (the SRE rule
// counts what the application attempts); one it allows counts when it
// ends (Done), so that calls in flight, which have had no chance to be
// accepted, never count as refused.
func (t *Throttle) Allow(now int64) bool {
	p := period(now)
	req, acc := t.w.sums(p)
	reject := float64(req) - ThrottleK*float64(acc)
	if reject <= 0 {
		return true
	}
	share := reject / float64(req+1)
	if float64(weyl(t.n.Add(1))) >= share*math.MaxUint32 {
		return true
	}
	t.w.at(p).a.Add(1)
	return false
}

// Done counts a request that was sent, at time now: accepted unless the
// server refused it (pushback).
func (t *Throttle) Done(now int64, accepted bool) {
	b := t.w.at(period(now))
	b.a.Add(1)
	if accepted {
		b.b.Add(1)
	}
}

// RejectShare returns the share of requests the throttle rejects now,
// for tests and metrics.
func (t *Throttle) RejectShare(now int64) float64 {
	req, acc := t.w.sums(period(now))
	return math.Max(0, (float64(req)-ThrottleK*float64(acc))/float64(req+1))
}

// weyl spreads decision numbers evenly over 32 bits: a deterministic,
// evenly spread share of requests rather than a random one.
func weyl(n uint64) uint32 { return uint32((n * 0x9E3779B97F4A7C15) >> 32) }

// numDeps is how many dependencies a Throttles tells apart; more share
// slots by hash (sharing makes throttling coarser, never wrong in kind).
const numDeps = 32

// Throttles holds a throttle, and optionally a retry budget, per
// dependency (hashed by name: a host, a gRPC target). Safe for concurrent
// use; looking one up does not allocate.
type Throttles struct {
	t [numDeps]Throttle
	b [numDeps]Budget
}

// NewThrottles makes the throttles; withBudgets adds a retry budget per
// dependency with the given rule.
func NewThrottles(withBudgets bool, rule BudgetRule) *Throttles {
	ts := &Throttles{}
	for i := range ts.t {
		ts.t[i].w = make(window, ThrottleBuckets)
		if withBudgets {
			ts.b[i] = Budget{w: make(window, BudgetBuckets), rule: rule.normal()}
		}
	}
	return ts
}

// For returns dependency dep's throttle and budget (the budget's zero
// value, which allows no retry, unless NewThrottles made budgets).
func (ts *Throttles) For(dep string) (*Throttle, *Budget) {
	i := fnv(dep) % numDeps
	return &ts.t[i], &ts.b[i]
}

// fnv is FNV-1a, 32 bits.
func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
