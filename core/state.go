package atrion

import (
	"context"
	"errors"
	"fmt"
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
}

// SyncTimeout bounds every provider call the engine makes.
const SyncTimeout = 500 * time.Millisecond

func newStateManager(a *Atrion, p StateProvider, resync time.Duration) *stateManager {
	s := &stateManager{
		a: a, p: p, merge: MergeLastWriterWins, timeout: SyncTimeout, resync: max(resync, 10*time.Millisecond),
		wake: make(chan struct{}, 1), flushes: make(chan chan struct{}),
		inbound: make(chan PhysicsVector, 4096), done: make(chan struct{}),
		logLimit: &rateLimit{every: 10 * time.Second},
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

// apply merges one peer vector into the local route, if tracked.
func (s *stateManager) apply(v PhysicsVector) {
	if !v.Valid() {
		s.a.stats.badPeerUpdates.Add(1)
		return
	}
	if v.NodeID == s.a.nodeID {
		return
	}
	r := s.a.routes.load(v.Route)
	if r == nil {
		s.a.routes.mu.Lock()
		r = s.a.routes.all[v.Route]
		s.a.routes.mu.Unlock()
	}
	if r == nil {
		return
	}
	s.a.stats.peerUpdates.Add(1)
	r.applyPeer(v, s.merge)
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
		if s.a.routes.load(k) == nil {
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
