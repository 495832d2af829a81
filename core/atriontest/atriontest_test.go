package atriontest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// fakeTB records what the kit reports instead of failing the real test.
// Fatalf stops the calling goroutine, as testing's does; cleanups run when
// run returns, last first.
type fakeTB struct {
	testing.TB // the real test, for anything not recorded here
	mu         sync.Mutex
	fatal      []string
	errors     []string
	cleanups   []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = append(f.fatal, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) FailNow()          { f.Fatalf("FailNow") }
func (f *fakeTB) Fail()             { f.Errorf("Fail") }

// run calls body with a fakeTB on a goroutine of its own, runs the
// cleanups it registered, and returns it and whether body returned (it
// did not if it failed fatally).
func run(t *testing.T, body func(tb testing.TB)) (f *fakeTB, returned bool) {
	t.Helper()
	f = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
		returned = true
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f, returned
}

// mustFailWith checks that body failed fatally, once, with a message
// containing every one of want.
func mustFailWith(t *testing.T, body func(tb testing.TB), want ...string) {
	t.Helper()
	f, returned := run(t, body)
	if returned || len(f.fatal) != 1 {
		t.Fatalf("want one fatal failure; returned %v, fatal %q, errors %q", returned, f.fatal, f.errors)
	}
	for _, w := range want {
		if !strings.Contains(f.fatal[0], w) {
			t.Errorf("failure %q does not say %q", f.fatal[0], w)
		}
	}
	t.Logf("reported: %s", f.fatal[0])
}

// subscriber is a provider that records the context the engine subscribes
// with: the engine cancels it when it closes.
type subscriber struct {
	*atrion.InMemoryProvider
	ctx context.Context
}

func (s *subscriber) Subscribe(ctx context.Context, _ func(atrion.PhysicsVector)) error {
	s.ctx = ctx
	return nil
}

func TestNewReadsItsClockAndClosesAtCleanup(t *testing.T) {
	p := &subscriber{InMemoryProvider: atrion.NewInMemoryProvider(0)}
	f, returned := run(t, func(tb testing.TB) {
		a, clk := atriontest.New(tb, atrion.WithProvider(p), atrion.WithTick(250*time.Millisecond))
		if a.Tick() != 250*time.Millisecond {
			t.Errorf("tick %v: the options were not applied", a.Tick())
		}
		t0 := a.Now()
		if !t0.Equal(clk.Now()) {
			t.Errorf("engine time %v, clock %v", t0, clk.Now())
		}
		clk.Advance(time.Hour)
		if got := a.Now().Sub(t0); got != time.Hour {
			t.Errorf("the clock moved an hour, the engine %v", got)
		}
		if p.ctx == nil || p.ctx.Err() != nil {
			t.Error("the engine is not running")
		}
	})
	if !returned || len(f.fatal)+len(f.errors) != 0 {
		t.Fatalf("returned %v, fatal %q, errors %q", returned, f.fatal, f.errors)
	}
	if p.ctx.Err() == nil {
		t.Error("the engine was not closed when the test ended")
	}
}

// Two runs of the same test see the same times: the clock starts at a
// fixed instant.
func TestNewStartsAtAFixedInstant(t *testing.T) {
	_, c1 := atriontest.New(t)
	_, c2 := atriontest.New(t)
	if !c1.Now().Equal(c2.Now()) || c1.Now().Location() != time.UTC {
		t.Fatalf("clocks start at %v and %v", c1.Now(), c2.Now())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	mustFailWith(t, func(tb testing.TB) { atriontest.New(tb, atrion.WithTick(0)) }, "atriontest:", "WithTick")
	mustFailWith(t, func(tb testing.TB) { atriontest.NewEngine(tb, atrion.WithMaxRoutes(-1)) }, "WithMaxRoutes")
}

// An option that replaces New's clock would leave the helpers advancing a
// clock the engine does not read.
func TestNewRefusesAnotherClock(t *testing.T) {
	other := atrion.NewManualClock(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	mustFailWith(t, func(tb testing.TB) { atriontest.New(tb, atrion.WithClock(other)) },
		"atriontest.New", "does not read this clock")
	mustFailWith(t, func(tb testing.TB) { atriontest.New(tb, atrion.WithClock(nil)) }, // the system clock
		"does not read this clock")
}

// Engines on one clock move together: what a client and a server engine
// in one test need.
func TestNewEngineSharesAClock(t *testing.T) {
	a, clk := atriontest.New(t)
	b := atriontest.NewEngine(t, atrion.WithClock(clk))
	atriontest.Trip(t, a, clk, "GET /x")
	s := atriontest.Trip(t, b, clk, "GET /x")
	if s.Mode != atrion.ModeCircuitOpen || !a.Now().Equal(b.Now()) {
		t.Fatalf("b: %v at %v, a at %v", s.Mode, b.Now(), a.Now())
	}
}

// The helpers refuse an engine on another clock before they send
// anything, and name the helper.
func TestHelpersRefuseAnotherClock(t *testing.T) {
	a, _ := atriontest.New(t)
	other := atrion.NewManualClock(time.Unix(0, 0))
	for name, f := range map[string]func(tb testing.TB){
		"Healthy": func(tb testing.TB) { atriontest.Healthy(tb, a, other, "GET /x", 3) },
		"Failing": func(tb testing.TB) { atriontest.Failing(tb, a, other, "GET /x", 3) },
		"Trip":    func(tb testing.TB) { atriontest.Trip(tb, a, other, "GET /x") },
		"Heal":    func(tb testing.TB) { atriontest.Heal(tb, a, other, "GET /x") },
		"Until": func(tb testing.TB) {
			atriontest.Until(tb, a, other, "GET /x", atrion.ModeCircuitOpen, 3, nil)
		},
	} {
		mustFailWith(t, f, "atriontest."+name+":", "does not read this clock")
	}
	if routes := a.Routes(); len(routes) != 1 {
		t.Fatalf("requests were sent: routes %q", routes)
	}
}

// Through every state on the engine's defaults: bootstrap, OPERATIONAL,
// failing, CIRCUIT_OPEN, RECOVERING, OPERATIONAL.
func TestDriveThroughEveryState(t *testing.T) {
	a, clk := atriontest.New(t)
	const route = "GET /users/:id"
	s := atriontest.Healthy(t, a, clk, route, 3)
	if s.Mode != atrion.ModeBootstrap || s.Totals.Successes != 3*atriontest.PerTick || s.Ticks != 3 {
		t.Fatalf("after 3 healthy ticks: %v, %d ticks, %+v", s.Mode, s.Ticks, s.Totals)
	}
	start := clk.Now()
	s = atriontest.Healthy(t, a, clk, route, 20)
	if s.Mode != atrion.ModeOperational || clk.Now().Sub(start) != 20*a.Tick() {
		t.Fatalf("after 23 healthy ticks: %v, clock moved %v", s.Mode, clk.Now().Sub(start))
	}
	healthyR := s.Resistance

	s = atriontest.Failing(t, a, clk, route, 1)
	if s.Mode != atrion.ModeOperational || s.Totals.Failures != atriontest.PerTick || s.Resistance <= healthyR {
		t.Fatalf("one failing tick after healthy ones: %v, R %.2f (was %.2f), %+v", s.Mode, s.Resistance, healthyR, s.Totals)
	}

	s = atriontest.Trip(t, a, clk, route)
	if s.Mode != atrion.ModeCircuitOpen || s.TransitionsByMode[atrion.ModeOperational][atrion.ModeCircuitOpen] != 1 {
		t.Fatalf("Trip returned %v, transitions %v", s.Mode, s.TransitionsByMode)
	}
	if _, d := a.Admit(route, atrion.PriorityCritical); d.Allowed || d.Reason != atrion.ReasonCircuitOpen {
		t.Fatalf("a request on the tripped route: %+v", d)
	}
	if n := atriontest.Send(a, route, 5, atrion.Success); n > 1 { // at most a probe
		t.Fatalf("the open route admitted %d of 5", n)
	}

	s = atriontest.Heal(t, a, clk, route)
	tr := s.TransitionsByMode
	if s.Mode != atrion.ModeOperational || tr[atrion.ModeCircuitOpen][atrion.ModeRecovering] != 1 || tr[atrion.ModeRecovering][atrion.ModeOperational] != 1 {
		t.Fatalf("Heal returned %v, transitions %v", s.Mode, tr)
	}
	if n := atriontest.Send(a, route, 5, atrion.Success); n != 5 {
		t.Fatalf("the healed route admitted %d of 5", n)
	}
}

// Trip opens a route whatever its configuration: a new route in
// bootstrap, static points, a break point R cannot reach, a learned one.
func TestTripOpensAnyRoute(t *testing.T) {
	for name, opts := range map[string][]atrion.Option{
		"defaults":      nil,
		"static points": atriontest.Static(),
		"unreachable break point": {atrion.WithPhysics(atrion.PhysicsConfig{BreakMultiplier: 1e6}),
			atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true})},
		"one-second ticks": {atrion.WithTick(time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			for _, history := range []int{0, 100} {
				a, clk := atriontest.New(t, opts...)
				if history > 0 {
					atriontest.Healthy(t, a, clk, "GET /x", history)
				}
				if s := atriontest.Trip(t, a, clk, "GET /x"); s.Mode != atrion.ModeCircuitOpen {
					t.Fatalf("after %d healthy ticks: Trip returned %v", history, s.Mode)
				}
			}
		})
	}
}

// A route that cannot trip fails the test, saying why, instead of
// returning as if it had.
func TestTripThatCannotTripFailsTheTest(t *testing.T) {
	// the table is full: the route's requests land in the overflow route,
	// and the route itself never opens
	a, clk := atriontest.New(t, atrion.WithMaxRoutes(1))
	atriontest.Send(a, "GET /first", 1, atrion.Success)
	mustFailWith(t, func(tb testing.TB) { atriontest.Trip(tb, a, clk, "GET /x") },
		"atriontest.Trip:", `route "GET /x" is not tracked after 100 ticks`, atrion.OverflowRoute)
	if s, _ := a.Snapshot(atrion.OverflowRoute); s.Mode != atrion.ModeCircuitOpen {
		t.Errorf("the overflow route got the failures but is %v", s.Mode)
	}

	// failures the adapter counts as Ignored (a 4xx, say) are no evidence
	a, clk = atriontest.New(t)
	ignored := func() { atriontest.Send(a, "GET /x", atriontest.PerTick, atrion.Ignored) }
	mustFailWith(t, func(tb testing.TB) {
		atriontest.Until(tb, a, clk, "GET /x", atrion.ModeCircuitOpen, 50, ignored)
	}, "atriontest.Until:", `route "GET /x" is BOOTSTRAP, not CIRCUIT_OPEN, after 50 ticks`, "Ignored:500")

	// too short a bound says where the route got to
	a, clk = atriontest.New(t)
	mustFailWith(t, func(tb testing.TB) {
		atriontest.Until(tb, a, clk, "GET /x", atrion.ModeCircuitOpen, 1, func() {
			atriontest.Send(a, "GET /x", 1, atrion.Failure)
		})
	}, "not CIRCUIT_OPEN, after 1 tick:", "R ", "break point", "Failures:1")
}

func TestHealThatCannotHealFailsTheTest(t *testing.T) {
	a, clk := atriontest.New(t)
	atriontest.Trip(t, a, clk, "GET /x")
	// still failing: the probes fail, the route stays open
	mustFailWith(t, func(tb testing.TB) {
		atriontest.Until(tb, a, clk, "GET /x", atrion.ModeOperational, 200, func() {
			atriontest.Send(a, "GET /x", atriontest.PerTick, atrion.Failure)
		})
	}, "is CIRCUIT_OPEN, not OPERATIONAL, after 200 ticks")
}

func TestBadBoundsFailTheTest(t *testing.T) {
	a, clk := atriontest.New(t)
	mustFailWith(t, func(tb testing.TB) { atriontest.Healthy(tb, a, clk, "GET /x", 0) },
		"atriontest.Healthy: 0 ticks: want at least 1")
	mustFailWith(t, func(tb testing.TB) { atriontest.Failing(tb, a, clk, "GET /x", -3) },
		"atriontest.Failing: -3 ticks")
	mustFailWith(t, func(tb testing.TB) {
		atriontest.Until(tb, a, clk, "GET /x", atrion.ModeCircuitOpen, 0, nil)
	}, "atriontest.Until: 0 ticks")
	if s, tracked := a.Snapshot("GET /x"); tracked || !clk.Now().Equal(a.Now()) {
		t.Fatalf("a rejected call sent traffic: %+v", s)
	}
}

// With nil traffic only the clock moves: an open circuit heals with time
// alone.
func TestUntilSilenceHealsWithTime(t *testing.T) {
	a, clk := atriontest.New(t)
	open := atriontest.Trip(t, a, clk, "GET /x")
	before := a.Now()
	s := atriontest.Until(t, a, clk, "GET /x", atrion.ModeRecovering, 600, nil)
	if s.Totals.Decisions != open.Totals.Decisions || a.Now().Sub(before) < time.Second {
		t.Fatalf("recovered after %v with %d decisions (%d when it opened)",
			a.Now().Sub(before), s.Totals.Decisions, open.Totals.Decisions)
	}
}

// Until stops at the first tick that reaches the mode and returns the
// state of that tick; its traffic runs once per tick.
func TestUntilStopsAtTheMode(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: 4}))
	calls := 0
	s := atriontest.Until(t, a, clk, "GET /x", atrion.ModeOperational, 100, func() {
		calls++
		atriontest.Send(a, "GET /x", 1, atrion.Success)
	})
	if calls != 4 || s.Ticks != 4 || s.Mode != atrion.ModeOperational || !s.LastTick.Equal(a.Now()) {
		t.Fatalf("%d calls, %d ticks, %v, last tick %v at %v", calls, s.Ticks, s.Mode, s.LastTick, a.Now())
	}
}

func TestSendCountsAdmissions(t *testing.T) {
	a, clk := atriontest.New(t)
	if n := atriontest.Send(a, "GET /x", 7, atrion.Failure); n != 7 {
		t.Fatalf("admitted %d of 7", n)
	}
	if n := atriontest.Send(a, "GET /x", 0, atrion.Failure); n != 0 {
		t.Fatalf("admitted %d of 0", n)
	}
	s, _ := a.Snapshot("GET /x")
	if s.Totals.Failures != 7 || !clk.Now().Equal(a.Now()) {
		t.Fatalf("%+v", s.Totals)
	}
}
