package atrion

import (
	"math"
	"time"
)

// Publishing on change: a route's vector goes to the provider when it
// has news for the route's peers (new evidence of its own: trauma or a
// mode change; its own scar moving materially), decided when its tick
// closes, plus a heartbeat well inside the provider's TTL while its last
// vector said something. A healthy route with no scar to speak of is what
// peers assume of a route they know nothing about, so it publishes
// nothing, however busy it is: a fleet of healthy routes costs the
// provider nothing per tick.

const (
	// quietScar is the scar below which a healthy route's scar is no news
	// (the idle sweep evicts such routes too)
	quietScar = 0.5
	// scarShare: a route's own scar is news once it has moved by this
	// share of the scar last published (or by quietScar, if more) — a
	// healing route republishes every second or so, not every tick
	scarShare = 0.1
	// defaultHeartbeat paces the heartbeat for providers that do not
	// say how long their vectors live (Expiring): a third of atrredis'
	// default TTL
	defaultHeartbeat = 20 * time.Second
)

// sentVector is what a route last handed to the provider.
type sentVector struct {
	at    time.Time // its UpdatedAt
	scar  float64
	when  int64 // engine ns
	mode  Mode
	ok    bool // anything was sent
	quiet bool
	loud  bool // the route is on the syncer's heartbeat list
}

// heartbeatOf is how often a route whose last vector said something is
// published again while it stays active: a third of the provider's TTL.
func heartbeatOf(p StateProvider, tick time.Duration) time.Duration {
	if e, ok := p.(Expiring); ok {
		if ttl := e.TTL(); ttl > 0 {
			return max(ttl/3, tick)
		}
	}
	return defaultHeartbeat
}

// modeClass folds BOOTSTRAP into OPERATIONAL: learning is no news.
func modeClass(m Mode) Mode {
	if m == ModeBootstrap {
		return ModeOperational
	}
	return m
}

// quiet reports whether the route's state is what peers assume of a
// route they know nothing about: healthy, no scar to speak of.
func (st *routeState) quiet() bool {
	return modeClass(st.mode()) == ModeOperational && st.Scar < quietScar
}

// ownBelief reports whether the route's state rests on its own evidence
// rather than on a peer's vector it adopted.
func (st *routeState) ownBelief() bool {
	return st.peer == nil || !st.peer.at.After(st.evidenceAt)
}

// news reports whether the route's vector has news for its peers since
// it was last published. A state it adopted is its peer's news, not its
// own: only a mode change of its own circuit makes it news. tick and wall
// are the engine's (publishedAt). Caller holds mu.
func (st *routeState) news(tick time.Duration, wall func(int64) time.Time) bool {
	var sent sentVector // never sent: as good as quiet and OPERATIONAL
	if st.peer != nil {
		sent = st.peer.sent
	}
	sentQuiet := !sent.ok || sent.quiet
	quiet := st.quiet()
	switch {
	case modeClass(st.mode()) != modeClass(sent.mode):
		return true
	case quiet && sentQuiet:
		return false
	case sent.ok && !st.publishedAt(tick, wall).Equal(sent.at):
		return true // evidence of its own since
	case !st.ownBelief():
		return false
	case quiet != sentQuiet:
		return true
	}
	return math.Abs(st.Scar-sent.scar) >= max(quietScar, scarShare*sent.scar)
}

// noteSent records v as the route's last published vector, at engine
// time now, and reports whether the route must join the heartbeat list.
// Caller holds mu.
func (r *route) noteSent(v *PhysicsVector, now int64) (join bool) {
	st := &r.st
	if st.peer == nil {
		st.peer = &peerState{}
	}
	s := &st.peer.sent
	*s = sentVector{at: v.UpdatedAt, scar: v.Scar, when: now, mode: v.Mode, ok: true, quiet: st.quiet(), loud: s.loud}
	if !s.quiet && !s.loud {
		s.loud = true
		return true
	}
	return false
}

// heartbeats republishes the routes whose last vector said something
// once heartbeat has passed since, while they stay active on their own
// evidence, and forgets the ones that have gone quiet, been evicted or
// gone idle (their stored vector expires with the provider's TTL, as a
// route no node serves should).
func (s *syncer) heartbeats() {
	now := s.a.clock.now()
	hb := int64(s.heartbeat)
	keep := s.loud[:0]
	for _, r := range s.loud {
		r.mu.Lock()
		st := &r.st
		sent := &st.peer.sent
		stay := !(r.detached.Load() && r != s.a.overflow) && !(st.quiet() && sent.quiet) && now-st.lastEnd < hb
		due := stay && !st.queued && now-sent.when >= hb && st.ownBelief()
		if due {
			st.queued = true
		}
		sent.loud = stay
		r.mu.Unlock()
		if due {
			s.enqueue(r)
		}
		if stay {
			keep = append(keep, r)
		}
	}
	clear(s.loud[len(keep):])
	s.loud = keep
}
