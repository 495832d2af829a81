package atrredis

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/redis/go-redis/v9"
)

var errSilent = errors.New("atrredis: subscription did not answer pings")

// Subscribe delivers peers' vectors to fn until ctx is cancelled or the
// provider is closed. It returns at once, even while Redis is down: the
// subscription runs in the background, redials with backoff (50 ms doubling
// to 1 s, jittered) whenever it fails or stops answering pings, and after
// every successful subscribe re-reads every key so that what peers wrote
// meanwhile is not lost. fn is called from one goroutine and must not
// block. Vectors this provider published itself are skipped.
func (p *Provider) Subscribe(ctx context.Context, fn func(atrion.PhysicsVector)) error {
	if fn == nil {
		return errors.New("atrredis: Subscribe: fn must not be nil")
	}
	return p.spawn(ctx, "Subscribe", func(ctx context.Context) { p.subscribe(ctx, fn) })
}

// spawn runs f on a goroutine that Close waits for; f's context ends with
// ctx or when the provider is closed. It fails once the provider is closed.
func (p *Provider) spawn(ctx context.Context, what string, f func(context.Context)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("atrredis: " + what + ": provider closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.ctx, cancel)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer stop()
		defer cancel()
		f(ctx)
	}()
	return nil
}

// subscribe keeps one subscription alive until ctx ends.
func (p *Provider) subscribe(ctx context.Context, fn func(atrion.PhysicsVector)) {
	backoff := backoffMin
	failed := false
	for ctx.Err() == nil {
		ps := p.client.Subscribe(ctx, p.cfg.channel)
		unblock := context.AfterFunc(ctx, func() { _ = ps.Close() })
		ok, err := p.receive(ctx, ps, fn, failed)
		unblock()
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		if ok {
			backoff = backoffMin
		}
		failed = true
		p.stats.errors.Add(1)
		p.log.warn("atrredis: subscription lost; deciding on local state until Redis returns", "err", err)
		// jitter so that a fleet does not redial in step
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// receive reads ps until it fails. It reports whether the subscription was
// confirmed; after the confirmation it resyncs, and counts a reconnect
// when an earlier subscription had failed.
func (p *Provider) receive(ctx context.Context, ps *redis.PubSub, fn func(atrion.PhysicsVector), failed bool) (bool, error) {
	subscribed := false
	missed := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, p.cfg.health)
		if err != nil {
			var ne net.Error
			if ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() {
				return subscribed, err
			}
			// silence: ping, and give up on a connection that stays mute
			if missed++; missed > healthMiss {
				return subscribed, errSilent
			}
			if err := ps.Ping(ctx); err != nil {
				return subscribed, err
			}
			continue
		}
		missed = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && !subscribed {
				subscribed = true
				if failed {
					p.stats.reconnects.Add(1)
				}
				p.resync(ctx, fn)
			}
		case *redis.Message:
			p.deliver(m.Payload, fn)
		}
	}
}

// deliver decodes one channel message and hands its vectors to fn.
func (p *Provider) deliver(payload string, fn func(atrion.PhysicsVector)) {
	h, vs, bad, err := decodeBatch([]byte(payload))
	switch {
	case err != nil:
		p.garbage("channel", payload)
		return
	case string(h.Prefix) != p.cfg.prefix:
		p.stats.foreign.Add(1)
		return
	case h.Src == p.src:
		return
	}
	if bad > 0 {
		p.stats.garbage.Add(uint64(bad - 1))
		p.garbage("channel", payload)
	}
	p.stats.received.Add(uint64(len(vs)))
	for _, v := range vs {
		fn(v)
	}
}

// resync reads every stored vector and hands it to fn, a page at a time
// (ReadPage: a SCAN page and its values, each page under its own
// deadline). A key that expired since its SCAN is skipped.
func (p *Provider) resync(ctx context.Context, fn func(atrion.PhysicsVector)) {
	for cursor := ""; ; {
		vs, next, err := p.ReadPage(ctx, cursor)
		if err != nil {
			p.log.warn("atrredis: resync failed", "err", err)
			return
		}
		p.stats.received.Add(uint64(len(vs)))
		for _, v := range vs {
			fn(v)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	p.stats.resyncs.Add(1)
}
