package atrion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// stateManager keeps the local routes authoritative and syncs them with the
// StateProvider in the background: each route's changes are published at
// most once per tick in one batch, peers' vectors are merged as they
// arrive and re-read periodically. Nothing here runs on a request's path.
type stateManager struct {
	a        *Atrion
	p        StateProvider
	merge    func(local, remote PhysicsVector) PhysicsVector
	timeout  time.Duration
	resync   time.Duration
	mu       sync.Mutex
	pending  []*route
	wake     chan struct{}
	flushes  chan chan struct{}
	inbound  chan PhysicsVector
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	logLimit *rateLimit
	// refuseLog paces the log lines of refused vectors apart from
	// provider failures'
	refuseLog *rateLimit
}

// SyncTimeout bounds every provider call the engine makes.
const SyncTimeout = 500 * time.Millisecond

func newStateManager(a *Atrion, p StateProvider, resync time.Duration) *stateManager {
	s := &stateManager{
		a: a, p: p, merge: MergeLastWriterWins, timeout: SyncTimeout, resync: max(resync, 10*time.Millisecond),
		wake: make(chan struct{}, 1), flushes: make(chan chan struct{}),
		inbound: make(chan PhysicsVector, 4096), done: make(chan struct{}),
		logLimit: &rateLimit{every: 10 * time.Second}, refuseLog: &rateLimit{every: 10 * time.Second},
	}
	if m, ok := p.(Merger); ok {
		s.merge = m.Merge
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if sub, ok := p.(Subscriber); ok {
		if err := sub.Subscribe(ctx, s.receive); err != nil {
			s.fail("subscribe", err)
		}
	}
	go s.run(ctx)
	return s
}

// receive takes a peer's vector from the provider without blocking it.
func (s *stateManager) receive(v PhysicsVector) {
	select {
	case s.inbound <- v:
	default:
		s.a.stats.peerDrops.Add(1)
	}
}

// enqueue marks r as changed; it will be published with the next batch.
func (s *stateManager) enqueue(r *route) {
	s.mu.Lock()
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stateManager) run(ctx context.Context) {
	defer close(s.done)
	resync := time.NewTicker(s.resync)
	defer resync.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			s.publish()
			return
		case v := <-s.inbound:
			s.apply(v)
		case <-resync.C:
			s.resyncAll(ctx)
		case f := <-s.flushes:
			s.drainInbound()
			s.publish()
			close(f)
		case <-s.wake:
			// one batch per tick at most, whatever the request rate
			if wait := s.a.tick - time.Since(last); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
			last = time.Now()
			s.publish()
		}
	}
}

func (s *stateManager) drainInbound() {
	for {
		select {
		case v := <-s.inbound:
			s.apply(v)
		default:
			return
		}
	}
}

// publish hands every pending route's vector to the provider.
func (s *stateManager) publish() {
	s.mu.Lock()
	rs := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	vs := make([]PhysicsVector, 0, len(rs))
	for _, r := range rs {
		r.mu.Lock()
		r.st.queued = false
		vs = append(vs, r.vectorLocked())
		r.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var err error
	if b, ok := s.p.(BatchSetter); ok {
		err = b.SetBatch(ctx, vs)
	} else {
		for _, v := range vs {
			if err = s.p.Set(ctx, v); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.fail("publish", err)
	}
}

// MaxPeerClockSkew is how far ahead of the local clock a peer's vector may
// be dated. A vector from further ahead is refused: under last-writer-wins
// it would win every merge until the local clock caught up.
const MaxPeerClockSkew = time.Second

// apply merges one peer vector into the local route, if tracked. A vector
// that no node with this route's physics could have written (dated in the
// future, scar, momentum or R beyond their physical maximum) is refused,
// counted and logged: one such vector would otherwise open a route for
// every priority and take hours to heal.
func (s *stateManager) apply(v PhysicsVector) {
	if !v.Valid() {
		s.a.stats.badPeerUpdates.Add(1)
		return
	}
	if v.NodeID == s.a.nodeID {
		return
	}
	if now := s.a.clock.wall(s.a.clock.now()); v.UpdatedAt.Sub(now) > MaxPeerClockSkew {
		s.refuse(v, "dated in the future", "ahead", v.UpdatedAt.Sub(now).String())
		return
	}
	r := s.a.routes.tracked(v.Route)
	if r == nil {
		return
	}
	lim := peerLimits(r.st.p, s.a.tick) // p is fixed for the route's life
	switch {
	case v.Scar > lim.scar:
		s.refuse(v, "scar beyond the physical maximum", "max", fmt.Sprint(lim.scar))
		return
	case v.Momentum > lim.momentum:
		s.refuse(v, "momentum beyond the physical maximum", "max", fmt.Sprint(lim.momentum))
		return
	case v.Resistance > lim.r:
		s.refuse(v, "resistance beyond the physical maximum", "max", fmt.Sprint(lim.r))
		return
	}
	s.a.stats.peerUpdates.Add(1)
	r.applyPeer(v, s.merge, lim.scar)
}

// refuse counts a refused peer vector and logs it at a bounded rate.
func (s *stateManager) refuse(v PhysicsVector, why, k, val string) {
	s.a.stats.refusedPeerUpdates.Add(1)
	if s.refuseLog.allow() {
		s.a.logger.Warn("atrion: refused a peer's vector: "+why, "route", truncate(v.Route, 64),
			"node", truncate(v.NodeID, 64), "scar", v.Scar, "r", v.Resistance, "at", v.UpdatedAt, k, val)
	}
}

// limits are the largest values a route's physics can produce.
type limits struct{ scar, momentum, r float64 }

// peerLimits are the physical maxima of a route with physics p and the
// engine's tick: scar's fixed point under trauma on every tick, S* = σ /
// (1 − e^(−λ·tick)) (no bound when λ is zero); momentum when every
// pressure component swings from −1 to 1 within a tick, 2√3 / tick; and
// R = R_base + Σw + μ·M* + S* (each pressure at most 1). A hair of slack
// absorbs rounding.
func peerLimits(p *params, tick time.Duration) limits {
	const slack = 1 + 1e-9
	dt := tick.Seconds()
	scar := math.Inf(1)
	if d := -math.Expm1(-p.decay * dt); d > 0 {
		scar = p.scarFactor / d * slack
	}
	m := 2 * math.Sqrt(3) / dt * slack
	return limits{scar: scar, momentum: m,
		r: (p.baseR + p.weights[0] + p.weights[1] + p.weights[2] + p.damping*m + scar) * slack}
}

// peerState is what a route adopted from peers, kept apart from its own
// evidence so that the route never presents adopted state as its own
// fresh evidence. A route holds it by pointer, allocated on its first
// adoption, which keeps routes that never adopt in their size class.
type peerState struct {
	at time.Time // the evidence time of the newest vector adopted
	// openAt is the route's last tick end when it last adopted a peer's
	// open circuit (open set): the next tick close may open the route on
	// that evidence alone
	openAt int64
	open   bool
}

// beliefAt is when the evidence behind the route's state was seen: its
// own, or the newest peer vector it adopted. Merges compare against it,
// so a stale vector read again is not adopted again.
func (st *routeState) beliefAt() time.Time {
	if st.peer != nil && st.peer.at.After(st.evidenceAt) {
		return st.peer.at
	}
	return st.evidenceAt
}

// publishedAt is the time the route's vector carries: the time of its own
// newest evidence (trauma, a mode change), never moved by adopting a
// peer's vector. One mode change is no evidence of the route's own: a
// circuit that opened at the tick close right after it adopted a peer's
// open circuit, while its own calls do not say it is failing. That
// vector carries the adopted vector's time, so that one bad vector, which
// opens every node it reaches, is not announced again by each of them as
// newer than it is. tick is the engine's tick; wall converts engine ns.
func (st *routeState) publishedAt(tick time.Duration, wall func(int64) time.Time) time.Time {
	p := st.peer
	if p != nil && p.open && st.circ.mode == ModeCircuitOpen && st.circ.since == p.openAt+int64(tick) &&
		st.evidenceAt.Equal(wall(st.circ.since)) && !st.win.failing() && !st.fast.certain() {
		return p.at
	}
	return st.evidenceAt
}

// resyncAll re-reads peers' vectors for the tracked routes.
func (s *stateManager) resyncAll(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, s.timeout)
	keys, err := s.p.Keys(c)
	cancel()
	if err != nil {
		s.fail("resync", err)
		return
	}
	for _, k := range keys {
		if s.a.routes.tracked(k) == nil {
			continue
		}
		c, cancel := context.WithTimeout(ctx, s.timeout)
		v, ok, err := s.p.Get(c, k)
		cancel()
		if err != nil {
			s.fail("resync", err)
			return
		}
		if ok {
			s.apply(v)
		}
	}
}

func (s *stateManager) fail(op string, err error) {
	s.a.stats.providerErrors.Add(1)
	if s.logLimit.allow() {
		s.a.logger.Warn("atrion: state provider failed; deciding locally", "op", op, "err", err)
	}
}

func (s *stateManager) flush(ctx context.Context) error {
	f := make(chan struct{})
	select {
	case s.flushes <- f:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stateManager) close(ctx context.Context) error {
	s.once.Do(s.cancel)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return errors.New(fmt.Sprint("atrion: state flush unfinished: ", ctx.Err()))
	}
}

// applyPeer folds a peer's scar into this route (SPEC §6) and refreshes
// the decision state; a mode change follows at the next tick close. The
// merge sees the route's state as of its newest evidence, its own or
// adopted; the merged scar is held to maxScar, the physical maximum,
// whatever the merge policy made of it. Caller has checked remote's bounds.
func (r *route) applyPeer(remote PhysicsVector, merge func(local, remote PhysicsVector) PhysicsVector, maxScar float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &r.st
	if st.circ.mode == ModeBootstrap {
		return
	}
	local := r.vectorLocked()
	local.UpdatedAt = st.beliefAt()
	merged := merge(local, remote)
	s := merged.Scar
	if !finite(s) || s < 0 {
		r.invalids.Add(1)
		return
	}
	s = math.Min(s, maxScar)
	open := merged.Mode == ModeCircuitOpen && merged.NodeID != r.env.nodeID
	if s != st.scar || open { // adopted: remember when its evidence was seen
		if st.peer == nil {
			st.peer = &peerState{}
		}
		if remote.UpdatedAt.After(st.peer.at) {
			st.peer.at = remote.UpdatedAt
		}
	}
	st.scar = s
	if open {
		st.peerOpen = true
		st.peer.open, st.peer.openAt = true, st.lastEnd
	}
	st.r = resistance(st.p.baseR, st.weighted, st.p.damping, st.momentum, st.scar)
	r.publish(st.lastEnd)
}

// vectorLocked is the route's PhysicsVector as it publishes it: its state,
// dated by its own newest evidence (publishedAt). Caller holds mu.
func (r *route) vectorLocked() PhysicsVector {
	st := &r.st
	return PhysicsVector{
		Route: r.id, Scar: st.scar, Momentum: st.momentum, Resistance: st.r,
		Mode: st.circ.mode, Tick: st.ticks, UpdatedAt: st.publishedAt(r.env.tick, r.env.clock.wall), NodeID: r.env.nodeID,
	}
}
