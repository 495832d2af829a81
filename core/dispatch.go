package atrion

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery of events to observers, each from a goroutine and a bounded
// queue of its own.

// dispatcher hands events to the observers, each from a goroutine of its
// own through a bounded queue of its own: an observer that blocks or
// panics fills (and drops from) its own queue only, and every other
// observer still gets every event.
type dispatcher struct {
	a    *Atrion
	subs []*subscriber
	mu   sync.RWMutex // guards shut against sends on closed channels
	shut bool
	once sync.Once
	logT *rateLimit
}

// subscriber is one observer with its queue and counters.
type subscriber struct {
	o      Observer
	ch     chan dispatchItem
	done   chan struct{}
	drops  atomic.Uint64
	panics atomic.Uint64
}

type dispatchItem struct {
	ev    Event
	flush chan struct{}
}

// observerQueue is each observer's queue, in events.
const observerQueue = 4096

// ObserverStats are one observer's counters.
type ObserverStats struct {
	Drops  uint64 // events dropped because this observer's queue was full
	Panics uint64 // calls to this observer that panicked (recovered)
}

func newDispatcher(a *Atrion, obs []Observer) *dispatcher {
	d := &dispatcher{a: a, logT: &rateLimit{every: 10 * time.Second}}
	for _, o := range obs {
		s := &subscriber{o: o, ch: make(chan dispatchItem, observerQueue), done: make(chan struct{})}
		d.subs = append(d.subs, s)
		go d.run(s)
	}
	return d
}

func (d *dispatcher) run(s *subscriber) {
	defer close(s.done)
	for it := range s.ch {
		if it.flush != nil {
			close(it.flush)
			continue
		}
		if !callSafely(s.o, it.ev, d) {
			s.panics.Add(1)
		}
	}
}

// callSafely calls o and recovers a panic, counting and logging it when d
// is set. It reports whether o returned.
func callSafely(o Observer, e Event, d *dispatcher) (ok bool) {
	defer func() {
		if v := recover(); v != nil && d != nil {
			d.a.stats.observerPanics.Add(1)
			if d.logT.allow() {
				d.a.logger.Error("atrion: observer panicked", "panic", fmt.Sprint(v), "route", e.Route)
			}
		}
	}()
	o.OnUpdate(e)
	return true
}

// emit queues an event for every observer without waiting; an observer
// whose queue is full misses it (counted).
func (a *Atrion) emit(e Event) {
	d := a.obs
	if len(d.subs) == 0 {
		return
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.shut {
		return
	}
	for _, s := range d.subs {
		select {
		case s.ch <- dispatchItem{ev: e}:
		default:
			s.drops.Add(1)
			a.stats.observerDrops.Add(1)
		}
	}
}

// stats returns each observer's counters.
func (d *dispatcher) stats() []ObserverStats {
	if len(d.subs) == 0 {
		return nil
	}
	out := make([]ObserverStats, len(d.subs))
	for i, s := range d.subs {
		out[i] = ObserverStats{Drops: s.drops.Load(), Panics: s.panics.Load()}
	}
	return out
}

// flush waits until every observer has handled the events queued so far;
// an observer that is stuck makes it wait until ctx is done.
func (d *dispatcher) flush(ctx context.Context) error {
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
		case s.ch <- dispatchItem{flush: f}:
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

func (d *dispatcher) close(ctx context.Context) error {
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
			return fmt.Errorf("atrion: observers still draining: %w", ctx.Err())
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
