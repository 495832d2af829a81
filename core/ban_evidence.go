package atrion

import (
	"github.com/atrion-go/atrion/core/internal/law"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// The evidence bans are decided on: per route and client key, a decayed
// count of calls, failures and shed requests, judged once per tick against
// the route's other keys. Nothing here runs unless requests carry keys.

// keyOutcome is what one keyed request tells about its key.
type keyOutcome uint8

const (
	outcomeCall keyOutcome = iota // a call that did not fail
	outcomeFail                   // a failed call, or one Blame marked
	outcomeShed                   // a request the route's limit shed
)

// keyStat is a key's evidence on one route: decayed counts over the
// evidence window. A shard maps each key to its first route's keyStat,
// which chains the key's other routes (a key uses one route or a few), so
// that a request costs one string lookup.
type keyStat struct {
	r                  *route
	calls, fails, shed float64
	next               *keyStat
}

// routeTotals are a route's keyed calls over the window: all of them, the
// shed ones, and those of keys the route serves well (their failure rate
// at most half of FailureRate).
type routeTotals struct{ calls, shed, healthy float64 }

// keyShards spreads the keys over locks so that concurrent requests with
// different keys rarely meet.
const keyShards = 16

type keyShard struct {
	mu   sync.Mutex
	keys map[string]*keyStat
	n    int      // keyStats held, chained ones included
	_    [32]byte // one shard per cache line, near enough
}

type keyEvidence struct {
	shards   [keyShards]keyShard
	seed     maphash.Seed
	perShard int
	tick     int64
	tauNs    float64
	end      atomic.Int64 // the current tick's end, engine ns
	closing  sync.Mutex
	last     int64
}

func (ev *keyEvidence) init(cfg banCfg, tick, now int64) {
	ev.seed = maphash.MakeSeed()
	ev.perShard = (cfg.maxKeys + keyShards - 1) / keyShards
	ev.tick, ev.tauNs = tick, float64(cfg.window)
	ev.last = now
	ev.end.Store(now + tick)
	for i := range ev.shards {
		ev.shards[i].keys = map[string]*keyStat{}
	}
}

// record counts one keyed request. The first request past the end of the
// evidence's tick closes it: in the background on the system clock, so
// that no request waits for a pass over every key (~0.3 ms at 10,000
// keys), and in line on a manual clock, so that simulations and tests are
// deterministic.
func (ev *keyEvidence) record(b *banList, r *route, key string, o keyOutcome) {
	now := b.clock.coarseNow()
	if end := ev.end.Load(); now >= end && ev.end.CompareAndSwap(end, end+((now-end)/ev.tick+1)*ev.tick) {
		if b.clock.kind == clockManual {
			ev.close(b, now)
		} else {
			go ev.close(b, now)
		}
	}
	sh := &ev.shards[maphash.String(ev.seed, key)%keyShards]
	sh.mu.Lock()
	head := sh.keys[key] // one lookup: the counts are updated in place
	s := head
	for s != nil && s.r != r {
		s = s.next
	}
	if s == nil {
		if head == nil && !ValidClientKey(key) {
			sh.mu.Unlock()
			b.stats.invalidKeys.Add(1)
			return
		}
		if sh.n >= ev.perShard && !sh.makeRoom() {
			sh.mu.Unlock()
			b.stats.untracked.Add(1)
			return
		}
		head = sh.keys[key] // makeRoom may have dropped key's own chain
		s = &keyStat{r: r, next: head}
		if head == nil {
			key = strings.Clone(key) // the request's string may pin a larger buffer
		}
		sh.keys[key] = s
		sh.n++
	}
	switch o {
	case outcomeCall:
		s.calls++
	case outcomeFail:
		s.calls++
		s.fails++
	case outcomeShed:
		s.shed++
	}
	sh.mu.Unlock()
}

// close decays every key's counts to now, judges them against their
// route's totals and bans the keys that cross a threshold; the caller has
// moved the tick's end on. Closes run one at a time.
func (ev *keyEvidence) close(b *banList, now int64) {
	ev.closing.Lock()
	defer ev.closing.Unlock()
	if now <= ev.last {
		return // a close that started later ran first
	}
	d := math.Exp(-float64(now-ev.last) / ev.tauNs)
	ev.last = now

	// first the routes' totals, then each key against the others
	totals := map[*route]routeTotals{}
	for i := range ev.shards {
		sh := &ev.shards[i]
		sh.mu.Lock()
		for k, head := range sh.keys {
			sh.keep(k, head, func(s *keyStat) bool {
				s.calls, s.fails, s.shed = s.calls*d, s.fails*d, s.shed*d
				if s.calls+s.shed < 0.05 {
					return false
				}
				t := totals[s.r]
				t.calls += s.calls
				t.shed += s.shed
				if s.fails <= s.calls*b.cfg.failRate/2 {
					t.healthy += s.calls
				}
				totals[s.r] = t
				return true
			})
		}
		sh.mu.Unlock()
	}
	var bans []newBan
	for i := range ev.shards {
		sh := &ev.shards[i]
		sh.mu.Lock()
		for k, head := range sh.keys {
			why, at := "", head
			for ; at != nil && why == ""; at = at.next {
				why = b.cfg.judge(at, totals[at.r])
				if why != "" {
					bans = append(bans, newBan{key: k, reason: why, route: at.r.id, rate: at.fails / at.calls, bound: law.WilsonLower(at.fails, at.calls)})
				}
			}
			if why != "" {
				sh.keep(k, head, func(*keyStat) bool { return false }) // a ban's end starts the key afresh
			}
		}
		sh.mu.Unlock()
	}
	b.mu.Lock()
	if len(bans) > 0 {
		b.banLocked(bans, now)
	} else if b.soonest.Load() <= now && b.active.Load() != nil {
		b.rebuildLocked(now, nil, nil) // drop expired bans
	}
	b.mu.Unlock()
}

// makeRoom drops the key with the least evidence among a few sampled
// (map order is random), if it has less than evictBelow calls: a flood of
// keys used once or twice must not keep out the evidence of a key that
// keeps calling. It reports whether room was made. Caller holds mu.
func (sh *keyShard) makeRoom() bool {
	const sample, evictBelow = 8, 2
	var victim string
	least, i := math.Inf(1), 0
	for k, head := range sh.keys {
		w := 0.0
		for s := head; s != nil; s = s.next {
			w += s.calls + s.shed
		}
		if w < least {
			victim, least = k, w
		}
		if i++; i == sample {
			break
		}
	}
	if least >= evictBelow {
		return false
	}
	sh.keep(victim, sh.keys[victim], func(*keyStat) bool { return false })
	return true
}

// keep keeps the keyStats of key's chain (from head) for which f is true,
// dropping the key when none is left. Caller holds mu.
func (sh *keyShard) keep(key string, head *keyStat, f func(*keyStat) bool) {
	var first, last *keyStat
	for s := head; s != nil; {
		next := s.next
		if f(s) {
			s.next = nil
			if last == nil {
				first = s
			} else {
				last.next = s
			}
			last = s
		} else {
			sh.n--
		}
		s = next
	}
	if first == nil {
		delete(sh.keys, key)
	} else if first != head {
		sh.keys[key] = first
	}
}

// judge returns why a key with counts s on a route with totals t is to be
// banned, or "". A key is judged against the route's other keys, so that
// a failing service (no key is served well) or a single client (no one
// else to crowd out) bans no one:
//   - failures: the Wilson lower bound of its failure rate reaches
//     FailureRate over at least MinCalls calls, while keys the route
//     serves well (failing at most half as often) made at least MinCalls
//     calls.
//
// A key's volume is never a reason: a big tenant is shed to its share of
// the route's limit, not banned.
func (c *banCfg) judge(s *keyStat, t routeTotals) string {
	if s.calls < c.minCalls {
		return ""
	}
	if law.WilsonLower(s.fails, s.calls) >= c.failRate && t.healthy >= c.minCalls {
		return "failures" // s is not among the healthy: its rate is ≥ FailureRate
	}
	return ""
}
