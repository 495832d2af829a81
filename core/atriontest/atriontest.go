// Package atriontest provides utilities for testing code that Atrion
// guards, in the way net/http/httptest does for HTTP: an engine on a
// manual clock that the test owns, and helpers that drive a route through
// its healthy, failing and open states in a few deterministic ticks.
//
// New returns an engine configured exactly as atrion.New(opts...) would
// configure it, except that it reads a ManualClock: nothing happens
// between two Advance calls, so every tick closes where the test says and
// every run sees the same numbers. The engine is closed when the test
// ends.
//
//	a, clk := atriontest.New(t)
//	h := myservice.NewHandler(a)              // the code under test
//	atriontest.Trip(t, a, clk, "GET /prices") // its dependency goes down
//	// ... call h and check that it falls back ...
//	atriontest.Heal(t, a, clk, "GET /prices") // and comes back
//
// The helpers send their requests straight to the engine (Admit and
// Ticket.Done, one after another) and advance the clock one tick
// (a.Tick()) at a time: Healthy and Failing run a fixed number of ticks;
// Trip, Heal and Until run ticks until the route reaches a mode, and fail
// the test, saying where the route stands, when it does not within their
// bound. Each fails the test, before sending anything, when the engine
// does not read the clock it is given, and at the end when the route is
// not tracked on its own (its requests fell into the overflow route).
//
// The helpers are meant for one test goroutine at a time; the engine
// itself stays safe for concurrent use, so handlers under test may run on
// their own goroutines.
package atriontest

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// start is where every clock of New starts: a fixed instant, so that
// times a test prints or compares are the same every run.
var start = time.Unix(1_700_000_000, 0).UTC()

// closeTimeout bounds the engine's Close at the end of a test: what it
// waits for (the provider's last flush, the observers' queues) finishes
// in milliseconds unless something hangs.
const closeTimeout = 5 * time.Second

// New returns an engine that reads a new manual clock, and the clock. The
// engine has atrion.New's defaults (bootstrap, the AutoTuner, 100 ms
// ticks, in-memory state) with opts applied; it is closed when tb ends.
// The clock starts at a fixed instant and moves only with Advance.
//
// New fails the test if atrion.New rejects opts, or if opts give the
// engine a clock of its own (atrion.WithClock): to run several engines on
// one clock, pass it to each through NewEngine.
func New(tb testing.TB, opts ...atrion.Option) (*atrion.Atrion, *atrion.ManualClock) {
	tb.Helper()
	clk := atrion.NewManualClock(start)
	a := NewEngine(tb, append([]atrion.Option{atrion.WithClock(clk)}, opts...)...)
	checkClock(tb, "New", a, clk)
	return a, clk
}

// NewEngine returns atrion.New(opts...), failing the test if it returns an
// error, and closes the engine when tb ends. Unlike New it keeps the clock
// opts give (the system clock by default): for several engines on one
// manual clock (atrion.WithClock(clk) in each), or for tests and
// benchmarks that need real time.
func NewEngine(tb testing.TB, opts ...atrion.Option) *atrion.Atrion {
	tb.Helper()
	a, err := atrion.New(opts...)
	if err != nil {
		tb.Fatalf("atriontest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			tb.Errorf("atriontest: closing the engine: %v", err)
		}
	})
	return a
}

// checkClock fails the test unless a reads clk: driving a route with a
// clock its engine does not read closes no tick, and a test would
// otherwise fail far from the mistake. The engine's time is read between
// two readings of clk, so a handler advancing clk meanwhile is no false
// alarm.
func checkClock(tb testing.TB, fn string, a *atrion.Atrion, clk *atrion.ManualClock) {
	tb.Helper()
	before := clk.Now()
	now := a.Now()
	after := clk.Now()
	if now.Before(before) || now.After(after) {
		tb.Fatalf("atriontest.%s: the engine does not read this clock (engine time %v, clock %v): "+
			"give it the clock with atrion.WithClock, and give the helpers that clock", fn, now, before)
	}
}

// Static returns the options under which routes skip bootstrap and the
// AutoTuner is off, so that a route trips and recovers at the static
// points (break point 100) from its first tick, followed by opts. Physics
// that opts set replace the whole PhysicsConfig: they must skip bootstrap
// themselves (BootstrapTicks: atrion.NoBootstrap).
func Static(opts ...atrion.Option) []atrion.Option {
	return append([]atrion.Option{
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
	}, opts...)
}
