// Package atrredis shares Atrion's route state between instances through
// Redis (SPEC §6), on go-redis v9:
//
//	p, err := atrredis.New(client)
//	a, err := atrion.New(atrion.WithProvider(p))
//
// Each engine hands the provider its changed route vectors at most once per
// tick; the provider writes them in one pipeline — a SET with TTL per route
// under "atrion:state:<route>" and one PUBLISH of the batch on
// "atrion:sync" — so Redis sees the same traffic at 10 requests per second
// as at 10,000. Peers' batches arrive through a subscription and the engine
// merges them into the routes it tracks; the engine also re-reads every
// key periodically (atrion.WithResync), and the provider re-reads them
// whenever its subscription comes back after a failure. Keys are listed
// with SCAN, never KEYS.
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
)

// ErrBusy is returned, and counted as an error, when too many earlier calls
// are still stuck in a client that ignores their deadlines.
var ErrBusy = errors.New("atrredis: too many Redis calls still in flight")

// maxStuck is how many calls may be in flight at once; the engine makes
// one at a time and the subscription's resync one more, so the rest of the
// room is for calls abandoned at their deadline.
const maxStuck = 4

// scanCount is the COUNT hint of each SCAN and the GETs per pipeline when
// re-reading every key.
const scanCount = 500

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
		slots: make(chan struct{}, maxStuck), ctx: ctx, cancel: cancel,
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

// SetBatch stores every vector with the TTL and announces them on the
// channel, all in one pipeline (one round trip). Invalid vectors are
// skipped and reported in the error after the valid ones are written.
func (p *Provider) SetBatch(ctx context.Context, vs []atrion.PhysicsVector) error {
	enc := make([][]byte, 0, len(vs))
	routes := make([]string, 0, len(vs))
	var skipped error
	for _, v := range vs {
		b, err := encodeVector(v)
		if err != nil {
			skipped = errors.Join(skipped, err)
			continue
		}
		enc = append(enc, b)
		routes = append(routes, v.Route)
	}
	if len(enc) == 0 {
		return skipped
	}
	err := p.do(ctx, "publish", func(ctx context.Context) error {
		pipe := p.client.Pipeline()
		for i, b := range enc {
			pipe.Set(ctx, p.key(routes[i]), b, p.cfg.ttl)
		}
		for i := 0; i < len(enc); i += maxBatchVectors {
			msg := appendBatch(nil, p.prefixJSON, p.src, enc[i:min(i+maxBatchVectors, len(enc))])
			pipe.Publish(ctx, p.cfg.channel, msg)
		}
		_, err := pipe.Exec(ctx)
		return err
	})
	if err == nil {
		p.stats.batches.Add(1)
		p.stats.published.Add(uint64(len(enc)))
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
// (on every master of a cluster client).
func (p *Provider) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := p.do(ctx, "keys", func(ctx context.Context) error {
		var mu sync.Mutex
		scan := func(ctx context.Context, c redis.Cmdable) error {
			it := c.Scan(ctx, 0, globEscape(p.cfg.prefix)+"*", scanCount).Iterator()
			var found []string
			for it.Next(ctx) {
				if route, ok := strings.CutPrefix(it.Val(), p.cfg.prefix); ok {
					found = append(found, route)
				}
			}
			mu.Lock()
			keys = append(keys, found...)
			mu.Unlock()
			return it.Err()
		}
		if cc, ok := p.client.(*redis.ClusterClient); ok {
			return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
		}
		return scan(ctx, p.client)
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
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
