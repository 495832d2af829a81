package atrion

import (
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

// statKey is a key's evidence on one route.
type statKey struct {
	r   *route
	key string
}

// keyStat are decayed counts over the evidence window.
type keyStat struct{ calls, fails, shed float64 }

// routeTotals are a route's keyed calls over the window: all of them, the
// shed ones, and those of keys the route serves well (their failure rate
// at most half of FailureRate).
type routeTotals struct{ calls, shed, healthy float64 }

// evShards spreads the keys over locks so that concurrent requests with
// different keys rarely meet.
const evShards = 16

type evShard struct {
	mu   sync.Mutex
	keys map[statKey]*keyStat
	_    [40]byte // one shard per cache line, near enough
}

type evidence struct {
	shards   [evShards]evShard
	seed     maphash.Seed
	perShard int
	tick     int64
	tauNs    float64
	end      atomic.Int64 // the current tick's end, engine ns
	closing  sync.Mutex
	last     int64
}

func (ev *evidence) init(cfg banCfg, tick, now int64) {
	ev.seed = maphash.MakeSeed()
	ev.perShard = (cfg.maxKeys + evShards - 1) / evShards
	ev.tick, ev.tauNs = tick, float64(cfg.window)
	ev.last = now
	ev.end.Store(now + tick)
	for i := range ev.shards {
		ev.shards[i].keys = map[statKey]*keyStat{}
	}
}

// record counts one keyed request; it closes the evidence's tick first
// when it has ended.
func (ev *evidence) record(b *banList, r *route, key string, o keyOutcome) {
	now := b.clock.coarseNow()
	if now >= ev.end.Load() {
		ev.close(b, now)
	}
	sh := &ev.shards[maphash.String(ev.seed, key)%evShards]
	k := statKey{r, key}
	sh.mu.Lock()
	s := sh.keys[k] // one lookup: the counts are updated in place
	if s == nil {
		if len(sh.keys) >= ev.perShard {
			sh.mu.Unlock()
			b.stats.untracked.Add(1)
			return
		}
		s = &keyStat{}
		k.key = strings.Clone(key) // the request's string may pin a larger buffer
		sh.keys[k] = s
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
// route's totals and bans the keys that cross a threshold. One caller at
// a time closes; the others go on.
func (ev *evidence) close(b *banList, now int64) {
	if !ev.closing.TryLock() {
		return
	}
	defer ev.closing.Unlock()
	end := ev.end.Load()
	if now < end {
		return
	}
	ev.end.Store(end + ((now-end)/ev.tick+1)*ev.tick)
	d := math.Exp(-float64(now-ev.last) / ev.tauNs)
	ev.last = now

	// first the routes' totals, then each key against the others
	totals := map[*route]routeTotals{}
	for i := range ev.shards {
		sh := &ev.shards[i]
		sh.mu.Lock()
		for k, s := range sh.keys {
			*s = keyStat{s.calls * d, s.fails * d, s.shed * d}
			if s.calls+s.shed < 0.05 {
				delete(sh.keys, k)
				continue
			}
			t := totals[k.r]
			t.calls += s.calls
			t.shed += s.shed
			if s.fails <= s.calls*b.cfg.failRate/2 {
				t.healthy += s.calls
			}
			totals[k.r] = t
		}
		sh.mu.Unlock()
	}
	var bans []newBan
	for i := range ev.shards {
		sh := &ev.shards[i]
		sh.mu.Lock()
		for k, s := range sh.keys {
			if why := b.cfg.judge(*s, totals[k.r]); why != "" {
				bans = append(bans, newBan{key: k.key, reason: why})
				delete(sh.keys, k) // a ban's end starts the key afresh
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

// judge returns why a key with counts s on a route with totals t is to be
// banned, or "". A key is judged against the route's other keys, so that
// a failing service (no key is served well) or a single client (no one
// else to crowd out) bans no one:
//   - failures: the Wilson lower bound of its failure rate reaches
//     FailureRate over at least MinCalls calls, while keys the route
//     serves well (failing at most half as often) made at least MinCalls
//     calls;
//   - share: it took more than MaxShare of the route's calls (at least
//     MinCalls) while the route shed other keys' requests.
func (c *banCfg) judge(s keyStat, t routeTotals) string {
	if s.calls < c.minCalls {
		return ""
	}
	if wilsonLower(s.fails, s.calls) >= c.failRate && t.healthy >= c.minCalls {
		return "failures" // s is not among the healthy: its rate is ≥ FailureRate
	}
	if c.maxShare < 1 && s.calls > c.maxShare*t.calls && t.shed-s.shed >= 1 {
		return "share"
	}
	return ""
}
