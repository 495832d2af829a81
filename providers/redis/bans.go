package atrredis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/redis/go-redis/v9"
)

// Bans of client keys (atrion.BanSharer): each ban is a key
// "atrion:ban:<client key>" holding its record, expiring with the ban, so
// that a node that starts reads the bans in force; each engine's batch of
// new bans (at most one per tick) is one pipeline, the SETs and one
// PUBLISH on "atrion:bans". The engine checks every record it reads
// against its own bounds (see atrion.BanSharer and BanConfig.MaxTTL)
// before it adopts it.

// Defaults of WithBanPrefix and WithBanChannel.
const (
	DefaultBanPrefix  = "atrion:ban:"
	DefaultBanChannel = "atrion:bans"
)

// WithBanPrefix sets the prefix of the keys that hold bans (default
// "atrion:ban:"). It must not start with the route state's prefix, nor the
// other way round, so that neither's SCAN lists the other's keys.
// Applications that share a Redis but not their bans set it, and
// WithBanChannel, apart.
func WithBanPrefix(p string) Option { return func(c *config) { c.banPrefix = p } }

// WithBanChannel sets the channel on which batches of bans are announced
// (default "atrion:bans").
func WithBanChannel(ch string) Option { return func(c *config) { c.banChannel = ch } }

func (c *config) validateBans() error {
	switch {
	case c.banPrefix == "":
		return fieldErr("WithBanPrefix", c.banPrefix, "must not be empty (the provider would scan every key)")
	case strings.HasPrefix(c.banPrefix, c.prefix) || strings.HasPrefix(c.prefix, c.banPrefix):
		return fieldErr("WithBanPrefix", c.banPrefix, "must not overlap WithKeyPrefix")
	case c.banChannel == "" || c.banChannel == c.channel:
		return fieldErr("WithBanChannel", c.banChannel, "must be set and differ from WithChannel")
	}
	return nil
}

var _ atrion.BanSharer = (*Provider)(nil)

// Bounds on what the provider reads, before the engine's own checks.
const (
	maxBanMessage = 1 << 20 // bytes of one channel message
	maxBansLoaded = 100_000 // records one LoadBans returns
)

// wireBan is a ban on the wire and under its key (times in Unix ns).
type wireBan struct {
	Key     string `json:"k"`
	At      int64  `json:"at"`
	Until   int64  `json:"until"`
	Strikes int    `json:"s"`
	Reason  string `json:"r,omitempty"`
	Node    string `json:"n"`
}

type wireBans struct {
	Src  string    `json:"src"`
	Bans []wireBan `json:"bans"`
}

func toWire(r atrion.BanRecord) wireBan {
	return wireBan{Key: r.Key, At: r.At.UnixNano(), Until: r.Until.UnixNano(), Strikes: r.Strikes, Reason: r.Reason, Node: r.NodeID}
}

func (w wireBan) record() atrion.BanRecord {
	return atrion.BanRecord{Key: w.Key, At: time.Unix(0, w.At), Until: time.Unix(0, w.Until), Strikes: w.Strikes, Reason: w.Reason, NodeID: w.Node}
}

// PublishBans stores each ban under its key until it expires and
// announces the batch on the ban channel, in one pipeline. Records with
// an invalid key or already expired are skipped.
func (p *Provider) PublishBans(ctx context.Context, bans []atrion.BanRecord) error {
	msg := wireBans{Src: p.src, Bans: make([]wireBan, 0, len(bans))}
	now := time.Now()
	for _, b := range bans {
		if atrion.ValidClientKey(b.Key) && b.Until.After(now) {
			msg.Bans = append(msg.Bans, toWire(b))
		}
	}
	if len(msg.Bans) == 0 {
		return nil
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("atrredis: PublishBans: %w", err)
	}
	err = p.do(ctx, "publish bans", func(ctx context.Context) error {
		pipe := p.client.Pipeline()
		for _, w := range msg.Bans {
			v, _ := json.Marshal(w)
			pipe.Set(ctx, p.cfg.banPrefix+w.Key, v, max(time.Until(time.Unix(0, w.Until)), time.Millisecond))
		}
		pipe.Publish(ctx, p.cfg.banChannel, payload)
		_, err := pipe.Exec(ctx)
		return err
	})
	if err == nil {
		p.bans.published.Add(uint64(len(msg.Bans)))
	}
	return err
}

// SubscribeBans delivers peers' batches of bans to fn until ctx is
// cancelled or the provider is closed. It returns at once; the
// subscription reconnects by itself (go-redis), and bans announced while
// it was down are read back by the engine's periodic LoadBans. Messages
// that do not decode, or are larger than 1 MiB, are counted as garbage;
// the provider's own are skipped.
func (p *Provider) SubscribeBans(ctx context.Context, fn func([]atrion.BanRecord)) error {
	if fn == nil {
		return errors.New("atrredis: SubscribeBans: fn must not be nil")
	}
	return p.spawn(ctx, "SubscribeBans", func(ctx context.Context) {
		ps := p.client.Subscribe(ctx, p.cfg.banChannel)
		defer ps.Close()
		ch := ps.Channel(redis.WithChannelHealthCheckInterval(p.cfg.health))
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				p.deliverBans(m.Payload, fn)
			}
		}
	})
}

// deliverBans decodes one ban message and hands its records to fn.
func (p *Provider) deliverBans(payload string, fn func([]atrion.BanRecord)) {
	var msg wireBans
	if len(payload) > maxBanMessage || json.Unmarshal([]byte(payload), &msg) != nil {
		p.bans.garbage.Add(1)
		p.log.warn("atrredis: ignored an undecodable ban message", "item", truncate(payload, 64))
		return
	}
	if msg.Src == p.src || len(msg.Bans) == 0 {
		return
	}
	recs := make([]atrion.BanRecord, len(msg.Bans))
	for i, w := range msg.Bans {
		recs[i] = w.record()
	}
	p.bans.received.Add(uint64(len(recs)))
	fn(recs)
}

// LoadBans reads every stored ban (SCAN a page per round trip, on every
// master of a cluster client, then GETs in pipelines of scanCount), at
// most 100,000. Values that do not decode, or that name
// another key, are counted as garbage and skipped.
func (p *Provider) LoadBans(ctx context.Context) ([]atrion.BanRecord, error) {
	var keys []string
	err := p.eachPage(ctx, "load bans", p.cfg.banPrefix, scanCount, func(page []string) bool {
		keys = append(keys, page[:min(len(page), maxBansLoaded-len(keys))]...)
		return len(keys) < maxBansLoaded
	})
	if err != nil {
		return nil, err
	}
	var out []atrion.BanRecord
	for len(keys) > 0 {
		chunk := keys[:min(scanCount, len(keys))]
		keys = keys[len(chunk):]
		var cmds []*redis.StringCmd
		err := p.do(ctx, "load bans", func(ctx context.Context) error {
			pipe := p.client.Pipeline() // GETs, not MGET: a cluster's keys live on many slots
			cmds = make([]*redis.StringCmd, len(chunk))
			for i, k := range chunk {
				cmds[i] = pipe.Get(ctx, k)
			}
			_, err := pipe.Exec(ctx)
			if errors.Is(err, redis.Nil) {
				return nil
			}
			return err
		})
		if err != nil {
			return out, err
		}
		for i, c := range cmds {
			b, err := c.Bytes()
			if err != nil {
				continue // expired since the SCAN
			}
			var w wireBan
			if json.Unmarshal(b, &w) != nil || p.cfg.banPrefix+w.Key != chunk[i] {
				p.bans.garbage.Add(1)
				continue
			}
			out = append(out, w.record())
		}
	}
	return out, nil
}

// BanStats are the provider's counters of bans.
type BanStats struct {
	Published uint64 // bans written and announced
	Received  uint64 // peers' bans delivered from the channel
	Garbage   uint64 // ban messages or stored bans that did not decode, ignored
}

type banCounters struct{ published, received, garbage atomic.Uint64 }

// BanStats returns the provider's counters of bans.
func (p *Provider) BanStats() BanStats {
	return BanStats{Published: p.bans.published.Load(), Received: p.bans.received.Load(), Garbage: p.bans.garbage.Load()}
}
