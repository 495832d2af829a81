package atriontest

import (
	"strconv"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
)

// PerTick is how many requests Healthy, Failing, Trip and Heal send in
// each tick: enough that failing ticks soon become evidence beyond doubt,
// so that Trip opens a route within a few ticks whatever its break point,
// as real traffic to a dependency that is down would.
const PerTick = 10

// Bounds of Trip and Heal, in ticks. An open route that gets healthy
// traffic recovers within its longest minimum open time (300 ticks), a
// probe interval and its RECOVERING ramp (20 ticks unless configured).
const (
	tripTicks = 100
	healTicks = 1000
)

// Send sends n requests on route, one after another, each of normal
// priority; each admitted one ends in c. It returns how many were
// admitted. Send does not move the clock.
func Send(a *atrion.Atrion, route string, n int, c atrion.Class) (admitted int) {
	return send(a, route, atrion.PriorityNormal, n, c)
}

func send(a *atrion.Atrion, route string, p atrion.Priority, n int, c atrion.Class) (admitted int) {
	for range n {
		t, d := a.Admit(route, p)
		if d.Allowed {
			t.Done(c)
			admitted++
		}
	}
	return admitted
}

// Healthy runs ticks ticks of successful traffic on route (PerTick
// requests a tick, of normal priority) and returns the route's state after
// the last. Healthy ticks take a new route through bootstrap (10 ticks by
// default) and heal an open one, in time.
func Healthy(tb testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string, ticks int) atrion.RouteSnapshot {
	tb.Helper()
	return drive(tb, "Healthy", a, clk, route, ticks, nil, healthy(a, route))
}

// Failing runs ticks ticks of failing traffic on route (PerTick requests
// a tick) and returns the route's state after the last. Failing requests
// are critical, so that no shedding keeps them from the engine: a
// rejected request is no evidence.
func Failing(tb testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string, ticks int) atrion.RouteSnapshot {
	tb.Helper()
	return drive(tb, "Failing", a, clk, route, ticks, nil, failing(a, route))
}

// Trip runs failing ticks on route, as Failing does, until its circuit is
// open, and returns its state then. It fails the test if the route is not
// CIRCUIT_OPEN within 100 ticks.
func Trip(tb testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string) atrion.RouteSnapshot {
	tb.Helper()
	want := atrion.ModeCircuitOpen
	return drive(tb, "Trip", a, clk, route, tripTicks, &want, failing(a, route))
}

// Heal runs healthy ticks on route, as Healthy does, until it is
// OPERATIONAL, and returns its state then: an open route goes through
// RECOVERING on the way. It fails the test if the route is not OPERATIONAL
// within 1,000 ticks.
func Heal(tb testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string) atrion.RouteSnapshot {
	tb.Helper()
	want := atrion.ModeOperational
	return drive(tb, "Heal", a, clk, route, healTicks, &want, healthy(a, route))
}

// Until runs ticks until route is in mode want, and returns its state
// then: each tick it calls traffic, advances clk by a.Tick() and reads the
// route's state (which closes the tick). A nil traffic is silence: the
// clock alone moves, as it does for an open circuit that heals with time.
// It fails the test if the route is not in mode want after maxTicks ticks.
//
// Until is for traffic of the test's own: requests through the handler
// under test, other priorities or latencies, a tally of its own.
func Until(tb testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, route string, want atrion.Mode, maxTicks int, traffic func()) atrion.RouteSnapshot {
	tb.Helper()
	return drive(tb, "Until", a, clk, route, maxTicks, &want, traffic)
}

func healthy(a *atrion.Atrion, route string) func() {
	return func() { send(a, route, atrion.PriorityNormal, PerTick, atrion.Success) }
}

func failing(a *atrion.Atrion, route string) func() {
	return func() { send(a, route, atrion.PriorityCritical, PerTick, atrion.Failure) }
}

// drive runs up to ticks ticks of traffic on route, stopping early once
// it is in mode *want (nil: never), and fails the test, as fn, when the
// route is untracked at the end or not in mode *want.
func drive(tb testing.TB, fn string, a *atrion.Atrion, clk *atrion.ManualClock, route string, ticks int, want *atrion.Mode, traffic func()) atrion.RouteSnapshot {
	tb.Helper()
	if ticks < 1 {
		tb.Fatalf("atriontest.%s: %s: want at least 1", fn, plural(ticks, "tick"))
	}
	checkClock(tb, fn, a, clk)
	var s atrion.RouteSnapshot
	tracked := false
	for range ticks {
		if traffic != nil {
			traffic()
		}
		clk.Advance(a.Tick())
		checkClock(tb, fn, a, clk)
		if s, tracked = a.Snapshot(route); tracked && want != nil && s.Mode == *want {
			return s
		}
	}
	if !tracked {
		tb.Fatalf("atriontest.%s: route %q is not tracked after %s: no request reached it, "+
			"or its requests fell into %s (tracked: %.200q)", fn, route, plural(ticks, "tick"), atrion.OverflowRoute, a.Routes())
	}
	if want != nil {
		tb.Fatalf("atriontest.%s: route %q is %v, not %v, after %s: R %.2f (break point %.2f, recovery point %.2f), "+
			"scar %.2f, error rate %.2f (lower bound %.2f), totals %+v",
			fn, route, s.Mode, *want, plural(ticks, "tick"), s.Resistance, s.BreakPoint, s.RecoveryPoint,
			s.Scar, s.ErrorRate, s.ErrorBound, s.Totals)
	}
	return s
}

// plural writes n with its noun: "1 tick", "5 ticks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
