package atrion

import (
	"context"
	"errors"
	"fmt"
	"github.com/atrion-go/atrion/core/internal/law"
	"math"
	"sync"
	"time"
)

// syncer keeps the local routes authoritative and syncs them with the
// StateProvider in the background. A route is published when its vector
// has news for its peers (sync_news.go), at most once per tick and in one
// batch; peers' vectors are queued as they arrive and applied in batches;
// every stored vector is re-read periodically, a page at a time. Nothing
// here runs on a request's path, and nothing on a request's path waits
// for it.
type syncer struct {
	a         *Atrion
	p         StateProvider
	merge     func(local, remote PhysicsVector) PhysicsVector
	timeout   time.Duration
	resync    time.Duration
	heartbeat time.Duration

	mu      sync.Mutex
	pending []*route // routes with news, waiting for the next batch
	wake    chan struct{}

	// peers' vectors, queued by the provider's goroutine (receive)
	inMu    sync.Mutex
	in      []PhysicsVector
	inReady chan struct{}

	// owned by run: buffers reused batch after batch, so that steady-state
	// syncing allocates nothing per route
	spare   []*route
	batch   []PhysicsVector
	inSpare []PhysicsVector
	loud    []*route // published with news to heartbeat (sync_news.go)
	pass    resyncPass

	flushes   chan chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
	logLimit  *rateLimit
	refuseLog *rateLimit // paces refused vectors' log lines apart from provider failures'
}

// SyncTimeout bounds every provider call the engine makes.
const SyncTimeout = 500 * time.Millisecond

// maxInbound bounds the peers' vectors waiting to be applied; beyond it
// they are dropped and counted (Stats.PeerDrops). The engine applies
// millions a second, so only an engine that cannot keep up drops any.
const maxInbound = 1 << 18

// applyChunk is how many queued vectors run applies before it looks at
// its other work again.
const applyChunk = 4096

func newSyncer(a *Atrion, p StateProvider, resync time.Duration) *syncer {
	s := &syncer{
		a: a, p: p, merge: MergeLastWriterWins, timeout: SyncTimeout, resync: max(resync, 10*time.Millisecond),
		heartbeat: heartbeatOf(p, a.tick),
		wake:      make(chan struct{}, 1), inReady: make(chan struct{}, 1), flushes: make(chan chan struct{}),
		done:     make(chan struct{}),
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

// receive queues a peer's vector from the provider without blocking it.
func (s *syncer) receive(v PhysicsVector) {
	s.inMu.Lock()
	if len(s.in) >= maxInbound {
		s.inMu.Unlock()
		s.a.stats.peerDrops.Add(1)
		return
	}
	s.in = append(s.in, v)
	first := len(s.in) == 1
	s.inMu.Unlock()
	if first {
		signal(s.inReady)
	}
}

// enqueue marks r as having news; it goes out with the next batch. Caller
// set r's queued flag, so a route waits in pending at most once.
func (s *syncer) enqueue(r *route) {
	s.mu.Lock()
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	signal(s.wake)
}

// signal wakes the goroutine waiting on c (capacity 1) without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// ready is always ready to receive from: the run loop's case for work
// it has in hand.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *syncer) run(ctx context.Context) {
	defer close(s.done)
	resync := time.NewTicker(s.resync)
	defer resync.Stop()
	beat := time.NewTicker(max(s.heartbeat/4, s.a.tick))
	defer beat.Stop()
	var audits <-chan time.Time // the aggregated audit records (sync_audit.go)
	if s.a.auditing() {
		t := time.NewTicker(auditEvery)
		defer t.Stop()
		audits = t.C
	}
	// one batch per tick at most, whatever the request rate: news that
	// comes sooner waits for the timer
	timer := time.NewTimer(0)
	<-timer.C
	var last time.Time
	armed := false
	for {
		var more chan struct{} // ready while a resync pass or queued vectors wait
		if s.pass.active || s.inLen() > 0 {
			more = ready
		}
		select {
		case <-ctx.Done():
			s.publish()
			s.a.flushAudits()
			return
		case <-s.inReady:
			s.applyInbound(applyChunk)
		case <-more:
			s.applyInbound(applyChunk)
			if s.pass.active {
				s.resyncStep(ctx)
			}
		case <-resync.C:
			s.pass.start()
		case <-beat.C:
			s.heartbeats()
		case <-audits:
			s.a.flushAudits()
		case f := <-s.flushes:
			s.applyInbound(math.MaxInt)
			s.publish()
			last = time.Now()
			s.a.flushAudits()
			close(f)
		case <-s.wake:
			if armed {
				continue
			}
			if wait := s.a.tick - time.Since(last); wait > 0 {
				timer.Reset(wait)
				armed = true
				continue
			}
			s.publish()
			last = time.Now()
		case <-timer.C:
			armed = false
			s.publish()
			last = time.Now()
		}
	}
}

// inLen is how many peers' vectors wait to be applied.
func (s *syncer) inLen() int {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	return len(s.in)
}

// applyInbound applies the queued peers' vectors, a queue's worth at a
// time, until at least n have been applied or none wait.
func (s *syncer) applyInbound(n int) {
	for n > 0 {
		s.inMu.Lock()
		batch := s.in
		s.in = s.inSpare[:0]
		s.inMu.Unlock()
		s.applyAll(batch)
		s.inSpare = batch[:0]
		if len(batch) == 0 {
			return
		}
		n -= len(batch)
	}
}

// applyAll applies vs and clears them (so they hold no route IDs).
func (s *syncer) applyAll(vs []PhysicsVector) {
	for i := range vs {
		s.apply(vs[i])
	}
	clear(vs)
}

// publish hands every pending route's vector to the provider in one batch.
func (s *syncer) publish() {
	s.mu.Lock()
	rs := s.pending
	s.pending = s.spare[:0]
	s.mu.Unlock()
	defer func() { clear(rs); s.spare = rs[:0] }()
	if len(rs) == 0 {
		return
	}
	now := s.a.clock.now()
	vs := s.batch[:0]
	for _, r := range rs {
		r.mu.Lock()
		r.st.queued = false
		if !r.detached.Load() || r == s.a.overflow {
			vs = append(vs, r.vectorLocked())
			if r.noteSent(&vs[len(vs)-1], now) {
				s.loud = append(s.loud, r)
			}
		}
		r.mu.Unlock()
	}
	defer func() { clear(vs); s.batch = vs[:0] }()
	if len(vs) == 0 {
		return
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
func (s *syncer) apply(v PhysicsVector) {
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
	why, limit, adopted := r.applyPeer(v, s.merge, s.a.tick)
	if why != "" {
		s.refuse(v, why, "max", fmt.Sprint(limit))
		return
	}
	s.a.stats.peerUpdates.Add(1)
	if adopted {
		s.a.auditPeer(&v, "")
	}
}

// refuse counts a refused peer vector, logs it at a bounded rate and
// records it in the audit trail.
func (s *syncer) refuse(v PhysicsVector, why, k, val string) {
	s.a.stats.refusedPeerUpdates.Add(1)
	s.a.auditPeer(&v, why+" ("+k+" "+val+")")
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
func peerLimits(p *law.Params, tick time.Duration) limits {
	const slack = 1 + 1e-9
	dt := tick.Seconds()
	scar := math.Inf(1)
	if d := -math.Expm1(-p.Decay * dt); d > 0 {
		scar = p.ScarFactor / d * slack
	}
	m := 2 * math.Sqrt(3) / dt * slack
	return limits{scar: scar, momentum: m,
		r: (p.BaseR + p.Weights[0] + p.Weights[1] + p.Weights[2] + p.Damping*m + scar) * slack}
}

// peerState is a route's side of cluster sync: what it adopted from
// peers, kept apart from its own evidence so that the route never
// presents adopted state as its own fresh evidence, and what it last
// published. A route holds it by pointer, allocated on its first adoption
// or publication, which keeps routes that never sync in their size class
// (a quiet route never publishes).
type peerState struct {
	sent sentVector // what the route last published (sync_news.go)
	at   time.Time  // the evidence time of the newest vector adopted
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
	if p != nil && p.open && st.mode() == ModeCircuitOpen && st.Circ.Since == p.openAt+int64(tick) &&
		st.evidenceAt.Equal(wall(st.Circ.Since)) && !st.Win.Failing() && !st.Fast.Certain() {
		return p.at
	}
	return st.evidenceAt
}

func (s *syncer) fail(op string, err error) {
	s.a.stats.providerErrors.Add(1)
	if s.logLimit.allow() {
		s.a.logger.Warn("atrion: state provider failed; deciding locally", "op", op, "err", err)
	}
}

func (s *syncer) flush(ctx context.Context) error {
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

func (s *syncer) close(ctx context.Context) error {
	s.once.Do(s.cancel)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return errors.New(fmt.Sprint("atrion: state flush unfinished: ", ctx.Err()))
	}
}

// applyPeer folds a peer's scar into this route (SPEC §6) and refreshes
// the decision state; a mode change follows at the next tick close. A
// vector that no node with this route's physics (which Update may change)
// could have written is refused: why says what is beyond which limit.
// The merge sees the route's state as of its newest evidence, its own or
// adopted; the merged scar is held to the physical maximum, whatever the
// merge policy made of it. adopted reports whether the route's state
// changed.
func (r *route) applyPeer(remote PhysicsVector, merge func(local, remote PhysicsVector) PhysicsVector, tick time.Duration) (why string, limit float64, adopted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &r.st
	lim := peerLimits(st.P, tick)
	switch {
	case remote.Scar > lim.scar:
		return "scar beyond the physical maximum", lim.scar, false
	case remote.Momentum > lim.momentum:
		return "momentum beyond the physical maximum", lim.momentum, false
	case remote.Resistance > lim.r:
		return "resistance beyond the physical maximum", lim.r, false
	}
	if st.mode() == ModeBootstrap {
		return "", 0, false
	}
	local := r.vectorLocked()
	local.UpdatedAt = st.beliefAt()
	merged := merge(local, remote)
	s := merged.Scar
	if !finite(s) || s < 0 {
		r.env.stats.invalidInputs.Add(1)
		return "", 0, false
	}
	s = math.Min(s, lim.scar)
	open := merged.Mode == ModeCircuitOpen && merged.NodeID != r.env.nodeID
	adopted = s != st.Scar || open
	if adopted { // remember when its evidence was seen
		if st.peer == nil {
			st.peer = &peerState{}
		}
		if remote.UpdatedAt.After(st.peer.at) {
			st.peer.at = remote.UpdatedAt
		}
	}
	st.AdoptScar(s)
	if open {
		st.peerOpen = true
		st.peer.open, st.peer.openAt = true, st.lastEnd
	}
	r.storeDecision(st.lastEnd)
	return "", 0, adopted
}

// vectorLocked is the route's PhysicsVector as it publishes it: its state,
// dated by its own newest evidence (publishedAt). Caller holds mu.
func (r *route) vectorLocked() PhysicsVector {
	st := &r.st
	return PhysicsVector{
		Route: r.id, Scar: st.Scar, Momentum: st.Momentum, Resistance: st.R,
		Mode: st.mode(), Tick: st.ticks, UpdatedAt: st.publishedAt(r.env.tick, r.env.clock.wall), NodeID: r.env.nodeID,
	}
}
