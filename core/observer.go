package atrion

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventTick       EventKind = iota // a route's tick closed
	EventTransition                  // a route changed mode (From → To)
)

// String returns tick or transition.
func (k EventKind) String() string {
	if k == EventTransition {
		return "transition"
	}
	return "tick"
}

// TunerStats is a route's AutoTuner state.
type TunerStats struct {
	Mean, StdDev float64 // EMA mean and deviation of healthy R
	Samples      int     // healthy ticks learned
	Break        float64 // learned break point
	Recovery     float64 // learned recovery point
	Enforced     bool    // the learned points decide (warm, not shadow, not disabled)
}

// Event reports one route tick or one mode transition to observers.
type Event struct {
	Kind          EventKind
	Route         string
	Time          time.Time     // end of the tick
	Tick          uint64        // ticks with samples so far
	Dt            time.Duration // length of the interval the physics ran over
	Mode          Mode          // mode after the tick
	From, To      Mode          // for EventTransition
	Resistance    float64
	Momentum      float64
	Scar          float64
	PressureNorm  float64    // ‖P‖
	PositiveNorm  float64    // ‖P⁺‖
	Pressure      [3]float64 // latency, error, saturation
	BreakPoint    float64    // break point in force
	RecoveryPoint float64    // recovery point in force
	Tuner         TunerStats
	// Limit is the route's adaptive in-flight limit and InFlight the
	// requests in flight at the tick's close.
	Limit, InFlight float64
	// ErrorRate is the failure share of the short evidence window and
	// ErrorBound its 95 % Wilson lower bound.
	ErrorRate, ErrorBound float64
	// counts in the tick
	Admitted, Shed, Succeeded, Failed, Ignored uint64
	// Slow counts requests whose callers gave up after waiting past the
	// latency baseline (Canceled): slow samples, not failures.
	Slow uint64
}

// event builds an Event from the route's state. Caller holds mu.
func (r *route) event(kind EventKind, end int64, dt time.Duration, from Mode) Event {
	st := &r.st
	return Event{
		Kind: kind, Route: r.id, Time: r.env.clock.wall(end), Tick: st.ticks, Dt: dt,
		Mode: st.circ.mode, From: from, To: st.circ.mode,
		Resistance: st.r, Momentum: st.momentum, Scar: st.scar,
		PressureNorm: st.norm, PositiveNorm: st.pos, Pressure: st.pressure,
		BreakPoint: st.brk, RecoveryPoint: st.rec, Tuner: st.tunerStats(),
		Limit: st.lim.limit, InFlight: st.inflight, ErrorRate: st.win.rate(),
		ErrorBound: wilsonLower(st.win.fails, st.win.calls),
	}
}

func (st *routeState) tunerStats() TunerStats {
	b, rc := st.tuner.thresholds(st.tp)
	return TunerStats{
		Mean: st.tuner.mean, StdDev: st.tuner.stddev(), Samples: st.tuner.samples,
		Break: b, Recovery: rc,
		Enforced: st.tunerEnforced(),
	}
}

// Observer receives route events. Each observer given to WithObserver is
// called from a background goroutine of its own, once per route tick and
// once per transition, never per request, with events in order. A panic
// is recovered and counted; a slow observer misses events (counted
// against it, Stats.Observers), never makes the engine wait, and never
// delays the other observers.
type Observer interface {
	OnUpdate(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// OnUpdate calls f(e).
func (f ObserverFunc) OnUpdate(e Event) { f(e) }

// SilentObserver discards every event.
func SilentObserver() Observer { return ObserverFunc(func(Event) {}) }

// CompositeObserver calls each observer in turn; one that panics does not
// keep the others from their event, but one that blocks holds them all:
// give observers that may block to WithObserver one by one instead.
func CompositeObserver(obs ...Observer) Observer {
	return ObserverFunc(func(e Event) {
		for _, o := range obs {
			callSafely(o, e, nil)
		}
	})
}

// FilteredObserver passes to o only the events keep accepts.
func FilteredObserver(o Observer, keep func(Event) bool) Observer {
	return ObserverFunc(func(e Event) {
		if keep(e) {
			o.OnUpdate(e)
		}
	})
}

// TransitionsOnly is a filter for FilteredObserver.
func TransitionsOnly(e Event) bool { return e.Kind == EventTransition }

// ConsoleObserver writes one line per transition to w, and, when verbose,
// one per tick.
func ConsoleObserver(w io.Writer, verbose bool) Observer {
	var mu sync.Mutex
	return ObserverFunc(func(e Event) {
		if e.Kind == EventTick && !verbose {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == EventTransition {
			fmt.Fprintf(w, "%s atrion %-24s %s → %s  R=%.2f S=%.2f\n", e.Time.Format(time.TimeOnly), e.Route, e.From, e.To, e.Resistance, e.Scar)
			return
		}
		fmt.Fprintf(w, "%s atrion %-24s %-12s R=%.2f S=%.2f M=%.2f ‖P⁺‖=%.2f admitted=%d shed=%d failed=%d\n",
			e.Time.Format(time.TimeOnly), e.Route, e.Mode, e.Resistance, e.Scar, e.Momentum, e.PositiveNorm, e.Admitted, e.Shed, e.Failed)
	})
}

// SlogObserver logs events as structured records: transitions at Info
// (Warn when opening), ticks at Debug. With slog.NewJSONHandler it writes
// JSON lines.
func SlogObserver(l *slog.Logger) Observer {
	return ObserverFunc(func(e Event) {
		ctx := context.Background()
		if e.Kind == EventTransition {
			lvl := slog.LevelInfo
			if e.To == ModeCircuitOpen {
				lvl = slog.LevelWarn
			}
			l.LogAttrs(ctx, lvl, "atrion transition", slog.String("route", e.Route),
				slog.String("from", e.From.String()), slog.String("to", e.To.String()),
				slog.Float64("resistance", e.Resistance), slog.Float64("scar", e.Scar))
			return
		}
		l.LogAttrs(ctx, slog.LevelDebug, "atrion tick", slog.String("route", e.Route),
			slog.String("mode", e.Mode.String()), slog.Float64("resistance", e.Resistance),
			slog.Float64("scar", e.Scar), slog.Float64("momentum", e.Momentum),
			slog.Float64("pressure_pos", e.PositiveNorm), slog.Uint64("admitted", e.Admitted),
			slog.Uint64("shed", e.Shed), slog.Uint64("failed", e.Failed))
	})
}

// JSONObserver writes JSON lines to w with slog.NewJSONHandler; ticks are
// included when verbose.
func JSONObserver(w io.Writer, verbose bool) Observer {
	lvl := slog.LevelInfo
	if verbose {
		lvl = slog.LevelDebug
	}
	return SlogObserver(slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})))
}

// EventCollector keeps the last events it received, for tests and
// dashboards. It is safe for concurrent use.
type EventCollector struct {
	mu    sync.Mutex
	limit int
	evs   []Event
}

// NewEventCollector keeps at most limit events (≤ 0: 10,000).
func NewEventCollector(limit int) *EventCollector {
	if limit <= 0 {
		limit = 10000
	}
	return &EventCollector{limit: limit}
}

// OnUpdate stores e, dropping the oldest event when full.
func (c *EventCollector) OnUpdate(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.evs) >= c.limit {
		copy(c.evs, c.evs[1:])
		c.evs = c.evs[:len(c.evs)-1]
	}
	c.evs = append(c.evs, e)
}

// Events returns a copy of the stored events, oldest first.
func (c *EventCollector) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.evs...)
}

// Transitions returns the stored transition events.
func (c *EventCollector) Transitions() []Event {
	var out []Event
	for _, e := range c.Events() {
		if e.Kind == EventTransition {
			out = append(out, e)
		}
	}
	return out
}

// Reset drops every stored event.
func (c *EventCollector) Reset() {
	c.mu.Lock()
	c.evs = nil
	c.mu.Unlock()
}

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
