// Package atrredis shares Atrion's route state between instances through
// Redis (SPEC §6), on go-redis v9:
//
//	p, err := atrredis.New(client)
//	a, err := atrion.New(atrion.WithProvider(p))
//
// Each engine hands the provider the vectors of routes that have news for
// their peers (trauma, a mode change, a material change of scar), at most
// once per tick, plus a heartbeat every third of WithTTL for routes whose
// last vector said something; a healthy route with no scar publishes
// nothing, however busy it is. The provider writes a batch in one
// pipeline — a SET with TTL per route under "atrion:state:<route>" and one
// PUBLISH per thousand vectors on "atrion:sync" — into buffers it reuses,
// so Redis sees the same traffic at 10 requests per second as at 10,000,
// and nothing at all from a healthy fleet. Peers' batches arrive through
// a subscription and the engine merges them into the routes it tracks.
// Every stored vector is also re-read periodically (atrion.WithResync),
// and whenever the subscription comes back after a failure, a page at a
// time (ReadPage: one SCAN page and one MGET, under one deadline, resuming
// from its cursor after an error), so that a million keys are read without
// one call having to list them all. Keys are listed with SCAN, never KEYS.
//
// Nothing here runs on a request's path: the engine calls the provider
// from background goroutines and every call is bounded by WithTimeout. When
// Redis is down every node keeps deciding on its own state (fail open);
// failures are counted in Stats and logged at a bounded rate, and the
// subscription redials with backoff. Garbage on the channel or under the
// keys is ignored and counted. Anyone who can PUBLISH on the channel can
// send well-formed vectors too, so the engine bounds what it adopts: a
// vector dated more than atrion.MaxPeerClockSkew ahead of the local clock,
// or whose scar, momentum or R is beyond what the route's physics can
// produce, is refused and counted (atrion.Stats.RefusedPeerUpdates), and a
// node never republishes a peer's state as its own fresh evidence. Within
// those bounds a vector is indistinguishable from a peer's: protect the
// channel with Redis ACLs (a user per application that may only publish
// and subscribe its own channel and keys) where the network is not
// trusted.
//
// Route IDs may hold any bytes (spaces, colons, invalid UTF-8): Redis keys
// are binary-safe, so a route's key is the prefix followed by the route ID
// as it is, and the wire format keeps every byte (see wire.go).
//
// Configure the client with short timeouts as well, e.g.
// redis.Options{DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond,
// WriteTimeout: 500 * time.Millisecond, ContextTimeoutEnabled: true}, so
// that calls abandoned after WithTimeout do not linger. go-redis logs its
// own failed dials through redis.SetLogger, which this package leaves alone.
package atrredis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/redis/go-redis/v9"
)

// Provider is an atrion.StateProvider backed by Redis. It also implements
// atrion.BatchSetter, atrion.Subscriber and atrion.Merger. It is safe for
// concurrent use. It does not own the client: Close stops the provider's
// own goroutines and leaves the client open.
type Provider struct {
	client     redis.UniversalClient
	cfg        config
	prefixJSON []byte
	src        string // this provider's instance ID, to skip its own messages
	log        logLimiter

	// slots bounds the Redis calls in flight, those still running after
	// their deadline passed (in a client that ignores deadlines) included.
	slots chan struct{}
	spare chan *batchBuf // SetBatch's buffers, reused

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats counters
	bans  banCounters // bans.go
}

var (
	_ atrion.StateProvider = (*Provider)(nil)
	_ atrion.BatchSetter   = (*Provider)(nil)
	_ atrion.Subscriber    = (*Provider)(nil)
	_ atrion.Merger        = (*Provider)(nil)
	_ atrion.PageReader    = (*Provider)(nil)
	_ atrion.Expiring      = (*Provider)(nil)
)

// ErrBusy is returned, and counted as an error, when too many earlier calls
// are still stuck in a client that ignores their deadlines.
var ErrBusy = errors.New("atrredis: too many Redis calls still in flight")

// maxStuck is how many calls may be in flight at once; the engine makes
// one at a time and the subscription's resync one more, so the rest of the
// room is for calls abandoned at their deadline.
const maxStuck = 4

// scanCount is the COUNT hint of each SCAN of ReadPage (whose values come
// in the same call), keysCount that of Keys.
const (
	scanCount = 500
	keysCount = 2000
)

// New returns a provider that stores state through client. It validates
// the options and returns an error naming the first bad one; it does not
// contact Redis, so an engine starts while Redis is down.
func New(client redis.UniversalClient, opts ...Option) (*Provider, error) {
	if client == nil {
		return nil, errors.New("atrredis: New: client must not be nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	prefixJSON, err := binString(cfg.prefix).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("atrredis: WithKeyPrefix: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Provider{
		client: client, cfg: cfg, prefixJSON: prefixJSON, src: rand.Text(),
		log:   logLimiter{logger: cfg.logger, every: 10 * time.Second},
		slots: make(chan struct{}, maxStuck), spare: make(chan *batchBuf, 1), ctx: ctx, cancel: cancel,
	}, nil
}

// Close stops the provider's subscriptions and waits for them to end. The
// engine's Close also stops the subscription it started; Close the engine
// first so that its last batch is written.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

func (p *Provider) key(route string) string { return p.cfg.prefix + route }

// Get returns the vector stored for route. A value that does not decode,
// or that names another route, is counted as garbage and reported as
// absent so that one bad key cannot stop a resync.
func (p *Provider) Get(ctx context.Context, route string) (atrion.PhysicsVector, bool, error) {
	var b []byte
	err := p.do(ctx, "get", func(ctx context.Context) error {
		var err error
		b, err = p.client.Get(ctx, p.key(route)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return atrion.PhysicsVector{}, false, nil
	}
	if err != nil {
		return atrion.PhysicsVector{}, false, err
	}
	v, err := decodeVector(b)
	if err != nil || v.Route != route {
		p.garbage("get", route)
		return atrion.PhysicsVector{}, false, nil
	}
	return v, true, nil
}

// Set stores v and announces it to peers, like a batch of one.
func (p *Provider) Set(ctx context.Context, v atrion.PhysicsVector) error {
	return p.SetBatch(ctx, []atrion.PhysicsVector{v})
}

// TTL implements atrion.Expiring: how long a stored vector lives (WithTTL),
// so that the engine republishes a route whose vector says something well
// before it expires.
func (p *Provider) TTL() time.Duration { return p.cfg.ttl }

// batchBuf holds one batch's encoding: every vector appended to one
// buffer, the channel messages to another. It is reused batch after
// batch, except by a call abandoned at its deadline, which keeps its own.
type batchBuf struct {
	enc  []byte
	ends []int    // where each vector's encoding ends in enc
	vecs [][]byte // each vector's encoding, a subslice of enc
	keys []string // each vector's key
	msg  []byte
	msgs [][]byte // subslices of msg
}

// takeBuf returns the spare batch buffer, or a new one while the spare is
// held by a call still running.
func (p *Provider) takeBuf() *batchBuf {
	select {
	case b := <-p.spare:
		return b
	default:
		return &batchBuf{}
	}
}

// putBuf keeps b as the spare, emptied.
func (p *Provider) putBuf(b *batchBuf) {
	b.enc, b.ends, b.msg = b.enc[:0], b.ends[:0], b.msg[:0]
	clear(b.keys)
	clear(b.vecs)
	clear(b.msgs)
	b.keys, b.vecs, b.msgs = b.keys[:0], b.vecs[:0], b.msgs[:0]
	select {
	case p.spare <- b:
	default:
	}
}

// SetBatch stores every vector with the TTL and announces them on the
// channel, all in one pipeline (one round trip). Invalid vectors are
// skipped and reported in the error after the valid ones are written.
// The vectors are encoded into buffers the provider reuses, and vs is not
// read once SetBatch returns.
func (p *Provider) SetBatch(ctx context.Context, vs []atrion.PhysicsVector) error {
	b := p.takeBuf()
	var skipped error
	for _, v := range vs {
		if !v.Valid() {
			skipped = errors.Join(skipped, fmt.Errorf("atrredis: invalid vector for route %q", v.Route))
			continue
		}
		b.enc = appendVector(b.enc, v)
		b.ends = append(b.ends, len(b.enc))
		b.keys = append(b.keys, p.key(v.Route))
	}
	n := len(b.ends)
	if n == 0 {
		p.putBuf(b)
		return skipped
	}
	start := 0
	for _, end := range b.ends {
		b.vecs = append(b.vecs, b.enc[start:end])
		start = end
	}
	for i := 0; i < n; i += maxBatchVectors {
		start := len(b.msg)
		b.msg = appendBatch(b.msg, p.prefixJSON, p.src, b.vecs[i:min(i+maxBatchVectors, n)])
		b.msgs = append(b.msgs, b.msg[start:])
	}
	err := p.do(ctx, "publish", func(ctx context.Context) error {
		defer p.putBuf(b) // only once the pipeline is done with it
		pipe := p.client.Pipeline()
		for i, v := range b.vecs {
			pipe.Set(ctx, b.keys[i], v, p.cfg.ttl)
		}
		for _, m := range b.msgs {
			pipe.Publish(ctx, p.cfg.channel, m)
		}
		_, err := pipe.Exec(ctx)
		return err
	})
	if err == nil {
		p.stats.batches.Add(1)
		p.stats.published.Add(uint64(n))
	}
	return errors.Join(err, skipped)
}

// Delete removes route's stored vector.
func (p *Provider) Delete(ctx context.Context, route string) error {
	return p.do(ctx, "delete", func(ctx context.Context) error {
		return p.client.Del(ctx, p.key(route)).Err()
	})
}

// Keys returns the route IDs stored under the prefix, listed with SCAN
// (on every master of a cluster client), a page per round trip, each
// under the provider's timeout; ctx bounds the whole listing.
func (p *Provider) Keys(ctx context.Context) ([]string, error) {
	var routes []string
	err := p.eachPage(ctx, "keys", p.cfg.prefix, keysCount, func(keys []string) bool {
		for _, k := range keys {
			if route, ok := strings.CutPrefix(k, p.cfg.prefix); ok {
				routes = append(routes, route)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return routes, nil
}

// eachPage lists the keys under prefix a SCAN page per round trip (each
// under the provider's timeout, on every master of a cluster client),
// handing each page to fn until it returns false or the listing ends.
func (p *Provider) eachPage(ctx context.Context, op, prefix string, count int64, fn func(keys []string) (more bool)) error {
	for cursor := ""; ; {
		var keys []string
		err := p.do(ctx, op, func(ctx context.Context) error {
			var err error
			keys, cursor, _, err = p.scanPage(ctx, prefix, cursor, count)
			return err
		})
		if err != nil {
			return err
		}
		if !fn(keys) || cursor == "" {
			return nil
		}
	}
}

// ReadPage implements atrion.PageReader: the vectors under one page of
// SCAN (scanCount keys or so) and the cursor of the next page, "" at the
// end. One SCAN and one MGET (pipelined GETs on a cluster, whose keys
// live on different slots) under one deadline. The cursor is SCAN's (on
// a cluster, the master's index and its SCAN cursor), so a pass resumes
// where an error stopped it; a key that expired since the SCAN is
// skipped, and one whose value does not decode is counted as garbage.
func (p *Provider) ReadPage(ctx context.Context, cursor string) ([]atrion.PhysicsVector, string, error) {
	var vs []atrion.PhysicsVector
	var next string
	err := p.do(ctx, "read page", func(ctx context.Context) error {
		keys, nx, c, err := p.scanPage(ctx, p.cfg.prefix, cursor, scanCount)
		if err != nil || len(keys) == 0 {
			next = nx
			return err
		}
		vals, err := p.values(ctx, c, keys)
		if err != nil {
			return err
		}
		next = nx
		vs = make([]atrion.PhysicsVector, 0, len(keys))
		for i, b := range vals {
			if b == nil {
				continue // expired since the SCAN
			}
			route := strings.TrimPrefix(keys[i], p.cfg.prefix)
			v, err := decodeVector(b)
			if err != nil || v.Route != route {
				p.garbage("read page", route)
				continue
			}
			vs = append(vs, v)
		}
		return nil
	})
	if err != nil {
		return nil, cursor, err
	}
	return vs, next, nil
}

// values reads keys' values from c, nil for a missing key: one MGET, or
// pipelined GETs on a cluster.
func (p *Provider) values(ctx context.Context, c redis.Cmdable, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if _, ok := p.client.(*redis.ClusterClient); ok {
		pipe := c.Pipeline()
		cmds := make([]*redis.StringCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.Get(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for i, c := range cmds {
			if b, err := c.Bytes(); err == nil {
				out[i] = b
			}
		}
		return out, nil
	}
	vals, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, nil
}

// scanPage runs one SCAN of the keys under prefix from cursor ("" starts)
// and returns the keys, the next cursor ("" once every key was listed) and
// the client it scanned. On a cluster the cursor is "<master>/<cursor>",
// the master an index into the masters' addresses in sorted order.
func (p *Provider) scanPage(ctx context.Context, prefix, cursor string, count int64) (keys []string, next string, c redis.Cmdable, err error) {
	match := globEscape(prefix) + "*"
	cc, cluster := p.client.(*redis.ClusterClient)
	if !cluster {
		var cur uint64
		if cursor != "" {
			if cur, err = strconv.ParseUint(cursor, 10, 64); err != nil {
				return nil, "", nil, fmt.Errorf("atrredis: bad cursor %q", cursor)
			}
		}
		keys, cur, err = p.client.Scan(ctx, cur, match, count).Result()
		if err != nil || cur == 0 {
			return keys, "", p.client, err
		}
		return keys, strconv.FormatUint(cur, 10), p.client, nil
	}
	masters, err := clusterMasters(ctx, cc)
	if err != nil {
		return nil, cursor, nil, err
	}
	m, cur := 0, uint64(0)
	if cursor != "" {
		ms, cs, _ := strings.Cut(cursor, "/")
		m, err = strconv.Atoi(ms)
		if err == nil {
			cur, err = strconv.ParseUint(cs, 10, 64)
		}
		if err != nil || m < 0 {
			return nil, "", nil, fmt.Errorf("atrredis: bad cursor %q", cursor)
		}
	}
	if m >= len(masters) { // the cluster shrank: the pass is over
		return nil, "", nil, nil
	}
	c = masters[m]
	keys, cur, err = c.Scan(ctx, cur, match, count).Result()
	if err != nil {
		return nil, cursor, nil, err
	}
	switch {
	case cur != 0:
		next = strconv.Itoa(m) + "/" + strconv.FormatUint(cur, 10)
	case m+1 < len(masters):
		next = strconv.Itoa(m+1) + "/0"
	}
	return keys, next, c, nil
}

// clusterMasters returns the cluster's masters, sorted by address.
func clusterMasters(ctx context.Context, cc *redis.ClusterClient) ([]*redis.Client, error) {
	var mu sync.Mutex
	var ms []*redis.Client
	err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		ms = append(ms, c)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(ms, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	return ms, err
}

// Merge folds a peer's vector into the local one with the policy set by
// WithMerge.
func (p *Provider) Merge(local, remote atrion.PhysicsVector) atrion.PhysicsVector {
	return p.cfg.merge(local, remote)
}

// do runs f under the provider's timeout and returns by the deadline even
// when the client ignores contexts; the call may then finish in the
// background, and at most maxStuck of those run at once. Failures are
// counted.
func (p *Provider) do(ctx context.Context, op string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.timeout)
	defer cancel()
	select {
	case p.slots <- struct{}{}:
	default:
		p.stats.errors.Add(1)
		return fmt.Errorf("atrredis: %s: %w", op, ErrBusy)
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-p.slots }()
		done <- f(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		p.stats.errors.Add(1)
		return fmt.Errorf("atrredis: %s: %w", op, err)
	}
	return err
}

// globEscape quotes SCAN MATCH's special characters so that a prefix
// matches only itself.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p *Provider) garbage(where, what string) {
	p.stats.garbage.Add(1)
	p.log.warn("atrredis: ignored undecodable state", "where", where, "item", truncate(what, 64))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Stats are the provider's counters, for observability.
type Stats struct {
	Batches    uint64 // pipelines written (one per engine publish)
	Published  uint64 // vectors written
	Received   uint64 // peers' vectors delivered from the channel or a resync
	Resyncs    uint64 // re-reads of every key after the subscription came back
	Reconnects uint64 // subscriptions re-established after a failure
	Errors     uint64 // failed, timed-out or refused Redis calls
	Garbage    uint64 // messages, vectors or stored values that did not decode, ignored
	Foreign    uint64 // channel messages for another key prefix, ignored
}

type counters struct {
	batches, published, received, resyncs atomic.Uint64
	reconnects, errors, garbage, foreign  atomic.Uint64
}

// Stats returns the provider's counters.
func (p *Provider) Stats() Stats {
	s := &p.stats
	return Stats{
		Batches: s.batches.Load(), Published: s.published.Load(), Received: s.received.Load(),
		Resyncs: s.resyncs.Load(), Reconnects: s.reconnects.Load(), Errors: s.errors.Load(),
		Garbage: s.garbage.Load(), Foreign: s.foreign.Load(),
	}
}

// logLimiter lets one line through per period.
type logLimiter struct {
	logger *slog.Logger
	every  time.Duration
	last   atomic.Int64 // Unix ns of the last line
}

func (l *logLimiter) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if last != 0 && now-last < int64(l.every) {
		return
	}
	if l.last.CompareAndSwap(last, now) {
		l.logger.Warn(msg, args...)
	}
}
