package sink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// The ready-made observers: they write events to a console, a slog
// logger or JSON lines, combine and filter other observers, or keep the
// last events for tests and dashboards.

// Silent discards every event.
func Silent() atrion.Observer { return atrion.ObserverFunc(func(atrion.Event) {}) }

// Composite calls each observer in turn; one that panics does not
// keep the others from their event, but one that blocks holds them all:
// give observers that may block to [atrion.WithObserver] one by one instead.
func Composite(obs ...atrion.Observer) atrion.Observer {
	return atrion.ObserverFunc(func(e atrion.Event) {
		for _, o := range obs {
			func() {
				defer func() { _ = recover() }() // counted by the engine's own dispatch, not here
				o.OnUpdate(e)
			}()
		}
	})
}

// Filtered passes to o only the events keep accepts.
func Filtered(o atrion.Observer, keep func(atrion.Event) bool) atrion.Observer {
	return atrion.ObserverFunc(func(e atrion.Event) {
		if keep(e) {
			o.OnUpdate(e)
		}
	})
}

// TransitionsOnly is a filter for Filtered.
func TransitionsOnly(e atrion.Event) bool { return e.Kind == atrion.EventTransition }

// Console writes one line per transition to w, and, when verbose,
// one per tick.
func Console(w io.Writer, verbose bool) atrion.Observer {
	var mu sync.Mutex
	return atrion.ObserverFunc(func(e atrion.Event) {
		if e.Kind == atrion.EventTick && !verbose {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == atrion.EventTransition {
			fmt.Fprintf(w, "%s atrion %-24s %s → %s  R=%.2f S=%.2f\n", e.Time.Format(time.TimeOnly), e.Route, e.From, e.To, e.Resistance, e.Scar)
			return
		}
		fmt.Fprintf(w, "%s atrion %-24s %-12s R=%.2f S=%.2f M=%.2f ‖P⁺‖=%.2f admitted=%d shed=%d failed=%d\n",
			e.Time.Format(time.TimeOnly), e.Route, e.Mode, e.Resistance, e.Scar, e.Momentum, e.PositiveNorm, e.Admitted, e.Shed, e.Failed)
	})
}

// Slog logs events as structured records: transitions at Info
// (Warn when opening), ticks at Debug. With slog.NewJSONHandler it writes
// JSON lines.
func Slog(l *slog.Logger) atrion.Observer {
	return atrion.ObserverFunc(func(e atrion.Event) {
		ctx := context.Background()
		if e.Kind == atrion.EventTransition {
			lvl := slog.LevelInfo
			if e.To == atrion.ModeCircuitOpen {
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

// JSON writes JSON lines to w with slog.NewJSONHandler; ticks are
// included when verbose.
func JSON(w io.Writer, verbose bool) atrion.Observer {
	lvl := slog.LevelInfo
	if verbose {
		lvl = slog.LevelDebug
	}
	return Slog(slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})))
}

// Collector keeps the last events it received, for tests and
// dashboards. It is safe for concurrent use.
type Collector struct {
	mu    sync.Mutex
	limit int
	evs   []atrion.Event
}

// NewCollector keeps at most limit events (≤ 0: 10,000).
func NewCollector(limit int) *Collector {
	if limit <= 0 {
		limit = 10000
	}
	return &Collector{limit: limit}
}

// OnUpdate stores e, dropping the oldest event when full.
func (c *Collector) OnUpdate(e atrion.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.evs) >= c.limit {
		copy(c.evs, c.evs[1:])
		c.evs = c.evs[:len(c.evs)-1]
	}
	c.evs = append(c.evs, e)
}

// Events returns a copy of the stored events, oldest first.
func (c *Collector) Events() []atrion.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]atrion.Event(nil), c.evs...)
}

// Transitions returns the stored transition events.
func (c *Collector) Transitions() []atrion.Event {
	var out []atrion.Event
	for _, e := range c.Events() {
		if e.Kind == atrion.EventTransition {
			out = append(out, e)
		}
	}
	return out
}

// Reset drops every stored event.
func (c *Collector) Reset() {
	c.mu.Lock()
	c.evs = nil
	c.mu.Unlock()
}
