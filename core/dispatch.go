package atrion

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery to observers and audit sinks, each from a goroutine and a
// bounded queue of its own.

// fanout hands items to its receivers, each from a goroutine of its own
// through a bounded queue of its own: a receiver that blocks or panics
// fills (and drops from) its own queue only, and every other receiver
// still gets every item. The engine never waits on it.
type fanout[T any] struct {
	a    *Atrion
	what string // "observer", "audit sink": for the log
	subs []*subscriber[T]
	mu   sync.RWMutex // guards shut against sends on closed channels
	shut bool
	once sync.Once
	logT *rateLimit
	// the engine's totals, besides each receiver's
	drops, panics *atomic.Uint64
	// size, when set, weighs an item, and a receiver's queue holds at most
	// maxBytes of them besides its count bound: a few huge items must not
	// pin gigabytes behind a slow receiver
	size     func(T) int64
	maxBytes int64
}

// subscriber is one receiver with its queue and counters.
type subscriber[T any] struct {
	call   func(T)
	ch     chan fanoutItem[T]
	done   chan struct{}
	drops  atomic.Uint64
	panics atomic.Uint64
	bytes  atomic.Int64 // weight of the items queued or in the call (with size)
}

type fanoutItem[T any] struct {
	v     T
	flush chan struct{}
	size  int64
}

// observerQueue is each receiver's queue, in items.
const observerQueue = 4096

// ObserverStats are one observer's counters.
type ObserverStats struct {
	Drops  uint64 // events dropped because this observer's queue was full
	Panics uint64 // calls to this observer that panicked (recovered)
}

// dispatcher delivers events to the observers.
type dispatcher = fanout[Event]

func newDispatcher(a *Atrion, obs []Observer) *dispatcher {
	calls := make([]func(Event), len(obs))
	for i, o := range obs {
		calls[i] = o.OnUpdate
	}
	return newFanout(a, "observer", calls, &a.stats.observerDrops, &a.stats.observerPanics)
}

func newFanout[T any](a *Atrion, what string, calls []func(T), drops, panics *atomic.Uint64) *fanout[T] {
	d := &fanout[T]{a: a, what: what, logT: &rateLimit{every: 10 * time.Second}, drops: drops, panics: panics}
	for _, c := range calls {
		s := &subscriber[T]{call: c, ch: make(chan fanoutItem[T], observerQueue), done: make(chan struct{})}
		d.subs = append(d.subs, s)
		go d.run(s)
	}
	return d
}

func (d *fanout[T]) run(s *subscriber[T]) {
	defer close(s.done)
	for it := range s.ch {
		if it.flush != nil {
			close(it.flush)
			continue
		}
		if !d.callSafely(s.call, it.v) {
			s.panics.Add(1)
		}
		if it.size != 0 {
			s.bytes.Add(-it.size)
		}
	}
}

// callSafely calls c and recovers a panic, counting and logging it. It
// reports whether c returned.
func (d *fanout[T]) callSafely(c func(T), v T) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			d.panics.Add(1)
			if d.logT.allow() {
				d.a.logger.Error("atrion: "+d.what+" panicked", "panic", fmt.Sprint(p))
			}
		}
	}()
	c(v)
	return true
}

// send queues v for every receiver without waiting; a receiver whose
// queue is full (in items, or in bytes with size) misses it (counted).
func (d *fanout[T]) send(v T) {
	if len(d.subs) == 0 {
		return
	}
	var n int64
	if d.size != nil {
		n = d.size(v)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.shut {
		return
	}
	for _, s := range d.subs {
		if n != 0 && s.bytes.Add(n) > d.maxBytes {
			s.bytes.Add(-n)
			s.drops.Add(1)
			d.drops.Add(1)
			continue
		}
		select {
		case s.ch <- fanoutItem[T]{v: v, size: n}:
		default:
			s.bytes.Add(-n)
			s.drops.Add(1)
			d.drops.Add(1)
		}
	}
}

// emit queues an event for every observer.
func (a *Atrion) emit(e Event) { a.obs.send(e) }

// stats returns each receiver's counters.
func (d *fanout[T]) stats() []ObserverStats {
	if len(d.subs) == 0 {
		return nil
	}
	out := make([]ObserverStats, len(d.subs))
	for i, s := range d.subs {
		out[i] = ObserverStats{Drops: s.drops.Load(), Panics: s.panics.Load()}
	}
	return out
}

// flush waits until every receiver has handled the items queued so far;
// one that is stuck makes it wait until ctx is done.
func (d *fanout[T]) flush(ctx context.Context) error {
	if len(d.subs) == 0 {
		return nil
	}
	fs := make([]chan struct{}, 0, len(d.subs))
	d.mu.RLock()
	if d.shut {
		d.mu.RUnlock()
		return nil
	}
	for _, s := range d.subs {
		f := make(chan struct{})
		select {
		case s.ch <- fanoutItem[T]{flush: f}:
			fs = append(fs, f)
		case <-ctx.Done():
			d.mu.RUnlock()
			return ctx.Err()
		}
	}
	d.mu.RUnlock()
	for _, f := range fs {
		select {
		case <-f:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (d *fanout[T]) close(ctx context.Context) error {
	if len(d.subs) == 0 {
		return nil
	}
	d.once.Do(func() {
		d.mu.Lock()
		d.shut = true
		for _, s := range d.subs {
			close(s.ch)
		}
		d.mu.Unlock()
	})
	for _, s := range d.subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("atrion: %ss still draining: %w", d.what, ctx.Err())
		}
	}
	return nil
}

// rateLimit allows one log line per period.
type rateLimit struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time
}

func (l *rateLimit) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.last) < l.every {
		return false
	}
	l.last = now
	return true
}
