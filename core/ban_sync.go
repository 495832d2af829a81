package atrion

import (
	"context"
	"fmt"
	"time"
)

// Sharing bans between nodes: local bans go to the provider in one batch
// per tick at most, never per request; peers' bans are checked against
// this node's own bounds before they are adopted, and never passed on.

// BanRecord is a ban as nodes share it.
type BanRecord struct {
	Key     string    // the client key (ValidClientKey)
	At      time.Time // when the ban was decided
	Until   time.Time // when it expires
	Strikes int       // the key's bans so far on its node, this one included
	Reason  string    // "failures" or "manual" (older engines also sent "share")
	NodeID  string    // the node that decided it
}

// BanSharer is implemented by providers that share bans between nodes.
// The engine calls it from one background goroutine, with deadlines.
type BanSharer interface {
	// PublishBans hands peers a batch of this node's new bans (at most
	// MaxBanBatch).
	PublishBans(ctx context.Context, bans []BanRecord) error
	// SubscribeBans calls fn with each batch peers publish until ctx is
	// cancelled; fn does not block.
	SubscribeBans(ctx context.Context, fn func([]BanRecord)) error
	// LoadBans returns the bans in force, for a node that starts or
	// resyncs.
	LoadBans(ctx context.Context) ([]BanRecord, error)
}

// MaxBanBatch is the most ban records one batch carries; a peer's batch
// beyond it is refused past its first MaxBanBatch records, and so is any
// adoption from the channel beyond MaxBanBatch records per tick. Peers'
// batches are adopted together at most once per tick, so that a flood of
// small batches costs one rebuild of the ban map per tick.
const MaxBanBatch = 256

// maxNodeIDLen bounds a peer record's node ID.
const maxNodeIDLen = 256

// adopt checks peers' records and adopts the valid ones in one rebuild of
// the active map. A record is refused, counted and logged when:
//   - its key is not valid (ValidClientKey), or its node ID is over-long;
//   - it was decided more than MaxPeerClockSkew ahead of the local clock;
//   - it runs for longer than MaxTTL from when it was decided, or from now
//     (beyond the skew);
//   - this tick's adoptions went past MaxBanBatch (batches from the
//     channel and stored bans alike);
//   - no room is left: adopted bans may evict only other adopted bans,
//     never one this node decided on its own evidence.
//
// Expired records and this node's own are skipped. An adopted ban keeps
// the earlier of its Until and now + MaxTTL and, unless it is a manual
// ban, of what its strikes give a ban here (strikeTTL); it is not
// published again.
func (b *banList) adopt(recs []BanRecord, paced bool, refuse func(BanRecord, string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.coarseNow()
	wallNow := b.clock.wall(now)
	if now >= b.adoptTickEnd {
		b.adoptTickEnd, b.adoptedInTick = now+b.tick, 0
	}
	maxTTL := b.cfg.maxTTL
	cur := b.activeLocked()
	add := map[string]banEntry{}
	for _, r := range recs {
		why := ""
		switch {
		case paced && b.adoptedInTick >= MaxBanBatch:
			why = "over the per-tick limit"
		case !ValidClientKey(r.Key) || len(r.NodeID) > maxNodeIDLen:
			why = "invalid key or node ID"
		case r.NodeID == b.node:
			continue
		case r.At.Sub(wallNow) > MaxPeerClockSkew:
			why = "dated in the future"
		case r.Until.Sub(r.At) > maxTTL+MaxPeerClockSkew || r.Until.Sub(wallNow) > maxTTL+MaxPeerClockSkew:
			why = "longer than MaxTTL"
		case r.Strikes < 0 || r.Strikes > 63:
			why = "impossible strike count"
		}
		if why != "" {
			b.stats.refused.Add(1)
			refuse(r, why)
			if b.audit != nil {
				b.audit(AuditRecord{Time: wallNow, Kind: AuditBanRefused, Actor: truncate(r.NodeID, 64),
					Detail: fmt.Sprintf("key %q: %s (until %v)", truncate(r.Key, 64), why, r.Until)})
			}
			continue
		}
		left := min(r.Until.Sub(wallNow), maxTTL)
		if r.Reason != "manual" {
			// a ban on evidence lasts what its strikes give it here (TTL,
			// doubled per earlier strike), whatever the record claims
			left = min(left, strikeTTL(b.cfg.ttl, b.cfg.maxTTL, r.Strikes))
		}
		if left <= 0 {
			continue
		}
		until := now + int64(left)
		if e, ok := cur[r.Key]; ok && (e.local || e.until >= until) {
			continue // this node's own ban stands; a later one is kept
		}
		if l, ok := b.lifted[r.Key]; ok && until <= l {
			continue // Unban lifted it here
		}
		if e, ok := add[r.Key]; ok && e.until >= until {
			continue
		}
		add[r.Key] = banEntry{until: until, strikes: uint8(r.Strikes), reason: "peer", node: r.NodeID}
		b.adoptedInTick++
	}
	if len(add) == 0 {
		return
	}
	b.rebuildAdoptedLocked(now, add)
}

// rebuildAdoptedLocked adds peers' bans within MaxBans: to make room it
// evicts adopted bans only, the soonest-expiring first, and refuses the
// soonest-expiring newcomers when that is not enough. Caller holds mu.
func (b *banList) rebuildAdoptedLocked(now int64, add map[string]banEntry) {
	cur := b.activeLocked()
	next := make(banMap, len(cur)+len(add))
	peers := banMap{}
	for k, e := range cur {
		if e.until <= now {
			continue
		}
		next[k] = e
		if _, replaced := add[k]; !e.local && !replaced {
			peers[k] = e
		}
	}
	if over := len(next) + len(add) - b.cfg.maxBans; over > 0 {
		for _, k := range soonest(peers, min(over, len(peers))) {
			delete(next, k)
			b.stats.evicted.Add(1)
			over--
		}
		if over > 0 {
			for _, k := range soonest(add, over) {
				b.auditPeer(AuditBanRefused, k, add[k], "no room")
				delete(add, k)
			}
			b.stats.refused.Add(uint64(over))
		}
	}
	for k, e := range add {
		next[k] = e
		b.auditPeer(AuditBanAdopted, k, e, "")
	}
	b.stats.adopted.Add(uint64(len(add)))
	b.storeLocked(next)
}

// auditPeer records a peer's ban adopted or refused for lack of room.
// Caller holds mu.
func (b *banList) auditPeer(kind AuditKind, key string, e banEntry, why string) {
	if b.audit == nil {
		return
	}
	d := fmt.Sprintf("key %q: until %v", key, b.clock.wall(e.until))
	if why != "" {
		d = fmt.Sprintf("key %q: %s", key, why)
	}
	b.audit(AuditRecord{Time: b.clock.wall(b.clock.coarseNow()), Kind: kind, Actor: e.node, Detail: d})
}

// banSync runs the ban list's side of the provider in the background.
type banSync struct {
	b       *banList
	a       *Atrion
	p       BanSharer
	wake    chan struct{}
	inbound chan []BanRecord
	cancel  context.CancelFunc
	done    chan struct{}
	log     *rateLimit
}

func startBanSync(a *Atrion, p BanSharer, resync time.Duration) *banSync {
	s := &banSync{b: a.bans, a: a, p: p, wake: make(chan struct{}, 1), inbound: make(chan []BanRecord, 64),
		done: make(chan struct{}), log: &rateLimit{every: 10 * time.Second}}
	a.bans.mu.Lock()
	a.bans.wake = func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	a.bans.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := p.SubscribeBans(ctx, s.receive); err != nil {
		a.syncer.fail("subscribe bans", err)
	}
	go s.run(ctx, max(resync, 10*time.Millisecond))
	return s
}

// receive takes a peers' batch without blocking the provider; records
// past MaxBanBatch are refused.
func (s *banSync) receive(recs []BanRecord) {
	if n := len(recs) - MaxBanBatch; n > 0 {
		s.b.stats.refused.Add(uint64(n))
		s.refuse(recs[MaxBanBatch], "over the batch limit")
		recs = recs[:MaxBanBatch]
	}
	select {
	case s.inbound <- recs:
	default:
		s.b.stats.refused.Add(uint64(len(recs)))
	}
}

// maxGathered bounds the peers' records adopted together.
const maxGathered = 4 * MaxBanBatch

func (s *banSync) run(ctx context.Context, resync time.Duration) {
	defer close(s.done)
	s.load(ctx)
	t := time.NewTicker(resync)
	defer t.Stop()
	var lastPub, lastAdopt time.Time
	for {
		select {
		case <-ctx.Done():
			s.publish()
			return
		case recs := <-s.inbound:
			// peers' batches together, one rebuild per tick at most
			lastAdopt = paceTick(ctx, s.a.tick, lastAdopt)
			s.b.adopt(s.gather(recs), true, s.refuse)
		case <-t.C:
			s.load(ctx)
		case <-s.wake:
			// one batch per tick at most, however many keys are banned
			lastPub = paceTick(ctx, s.a.tick, lastPub)
			s.publish()
		}
	}
}

// gather appends the batches waiting in the inbound queue to recs, up to
// maxGathered records; the rest are refused.
func (s *banSync) gather(recs []BanRecord) []BanRecord {
	for {
		select {
		case more := <-s.inbound:
			if room := maxGathered - len(recs); len(more) > room {
				s.b.stats.refused.Add(uint64(len(more) - max(room, 0)))
				more = more[:max(room, 0)]
			}
			recs = append(recs, more...)
		default:
			return recs
		}
	}
}

// paceTick waits until a tick has passed since last (or ctx ends) and
// returns the time it stopped waiting: the pacing of one batch per tick.
func paceTick(ctx context.Context, tick time.Duration, last time.Time) time.Time {
	if wait := tick - time.Since(last); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	return time.Now()
}

// publish hands the provider up to MaxBanBatch pending bans; the rest wait
// for the next tick.
func (s *banSync) publish() {
	b := s.b
	b.mu.Lock()
	n := min(len(b.pending), MaxBanBatch)
	batch := append([]BanRecord(nil), b.pending[:n]...)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	more := len(b.pending) > 0
	b.mu.Unlock()
	if more {
		b.wake()
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), SyncTimeout)
	defer cancel()
	if err := s.p.PublishBans(ctx, batch); err != nil {
		s.a.syncer.fail("publish bans", err)
	}
}

// load reads the bans in force and adopts them, at most MaxBans of them
// and MaxBanBatch a tick.
func (s *banSync) load(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, SyncTimeout)
	recs, err := s.p.LoadBans(c)
	cancel()
	if err != nil {
		s.a.syncer.fail("load bans", err)
		return
	}
	// stored bans, paced like the channel's: at most MaxBanBatch new ones a
	// tick, the rest at the next resyncs, so that a flood of stored
	// records cannot replace the adopted bans in one go
	s.b.adopt(recs[:min(len(recs), s.b.cfg.maxBans)], true, s.refuse)
}

func (s *banSync) refuse(r BanRecord, why string) {
	if s.log.allow() {
		s.a.logger.Warn("atrion: refused a peer's ban: "+why, "key", truncate(r.Key, 64),
			"node", truncate(r.NodeID, 64), "at", r.At, "until", r.Until)
	}
}

func (s *banSync) close(ctx context.Context) error {
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeBans stops the ban sync, publishing what is pending.
func (a *Atrion) closeBans(ctx context.Context) error {
	if a.bsync == nil {
		return nil
	}
	return a.bsync.close(ctx)
}

// strikeTTL is the length of a ban on evidence after strikes bans of its
// key: TTL, doubled per earlier strike, capped at MaxTTL.
func strikeTTL(ttl, maxTTL time.Duration, strikes int) time.Duration {
	for i := 1; i < strikes && ttl < maxTTL; i++ {
		ttl *= 2 // TTL ≤ MaxTTL ≤ 168h: no overflow before it passes MaxTTL
	}
	return min(ttl, maxTTL)
}
