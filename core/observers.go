package atrion

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// The Observer interface and the built-in observers.

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
			func() {
				defer func() { _ = recover() }() // counted by the engine's own dispatch, not here
				o.OnUpdate(e)
			}()
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
