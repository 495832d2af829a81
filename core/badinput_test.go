package atrion_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

func TestBadTelemetry(t *testing.T) {
	a, clk := atriontest.New(t)
	bad := []atrion.Outcome{
		{Latency: -time.Second}, {Latency: math.MaxInt64}, {Latency: math.MinInt64},
		{Saturation: math.NaN()}, {Saturation: math.Inf(1)}, {Saturation: math.Inf(-1)}, {Saturation: -3}, {Saturation: 7},
	}
	for i := range 30 {
		for _, o := range bad {
			a.ReportOutcome("r", o)
		}
		for _, tel := range []atrion.Telemetry{{ErrorRate: math.NaN()}, {ErrorRate: math.Inf(1)}, {ErrorRate: -1}, {ErrorRate: 2, Saturation: math.NaN()}, {Latency: -1}} {
			for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -5, 0, 1e308} {
				d := a.Route("r", tel, v)
				if s, _ := a.Snapshot("r"); math.IsNaN(s.Resistance) || math.IsInf(s.Resistance, 0) || !d.Mode.Valid() {
					t.Fatalf("Route(%+v, %v) gave %+v, R=%v", tel, v, d, s.Resistance)
				}
			}
		}
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot("r")
		if !(s.Resistance >= 10) || math.IsInf(s.Resistance, 0) || !(s.Scar >= 0) || math.IsInf(s.Scar, 0) || !s.Mode.Valid() {
			t.Fatalf("tick %d: invariants broken: %+v", i, s)
		}
		for _, p := range s.Pressure {
			if !(p >= -1 && p <= 1) {
				t.Fatalf("pressure out of [-1, 1]: %v", s.Pressure)
			}
		}
	}
	if st := a.Stats(); st.InvalidInputs == 0 {
		t.Fatal("bad telemetry must be counted")
	}
}

func TestBadRouteIDs(t *testing.T) {
	a, clk := atriontest.New(t)
	huge := strings.Repeat("x", 1<<20)
	for range 20 {
		for _, id := range []string{"", huge, huge[:atrion.MaxRouteIDLen+1]} {
			tk, d := a.Admit(id, atrion.PriorityNormal)
			if d.Allowed {
				tk.Done(atrion.Failure)
			}
			a.ReportOutcome(id, atrion.Outcome{IsError: true})
		}
		a.ReportOutcome("GET /ok", atrion.Outcome{Latency: time.Millisecond})
		clk.Advance(100 * time.Millisecond)
	}
	if _, ok := a.Snapshot(huge); ok {
		t.Fatal("a 1 MB route ID must not be tracked on its own")
	}
	if _, ok := a.Snapshot(huge[:atrion.MaxRouteIDLen]); ok {
		t.Fatal("never-seen route must not be tracked")
	}
	st := a.Stats()
	if st.InvalidIDs != 120 || st.Routes != 2 {
		t.Fatalf("stats %+v: want 120 invalid IDs and 2 routes (ok + overflow)", st)
	}
	ov, _ := a.Snapshot(atrion.OverflowRoute)
	if ov.Totals.Failures == 0 {
		t.Fatal("invalid IDs' outcomes must land in the overflow route, not vanish")
	}
	ok, _ := a.Snapshot("GET /ok")
	if ok.Scar != 0 || ok.Mode != atrion.ModeOperational {
		t.Fatalf("other routes must be untouched: %+v", ok)
	}
	// an ID of exactly the limit is fine
	a.ReportOutcome(huge[:atrion.MaxRouteIDLen], atrion.Outcome{})
	if _, ok := a.Snapshot(huge[:atrion.MaxRouteIDLen]); !ok {
		t.Fatal("an ID of MaxRouteIDLen bytes must be tracked")
	}
}

// TestRouteFlood: a million distinct route IDs stay within the cap.
func TestRouteFlood(t *testing.T) {
	const maxRoutes = 1000
	a, clk := atriontest.New(t, atrion.WithMaxRoutes(maxRoutes))
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	buf := make([]byte, 0, 32)
	for i := range n {
		buf = strconv.AppendInt(append(buf[:0], "GET /u/"...), int64(i), 10)
		tk, d := a.Admit(string(buf), atrion.PriorityNormal)
		if d.Allowed {
			tk.Done(atrion.Success)
		}
		if i%100_000 == 0 {
			clk.Advance(100 * time.Millisecond)
		}
	}
	st := a.Stats()
	if st.Routes != maxRoutes+1 || len(a.Routes()) != maxRoutes+1 {
		t.Fatalf("tracked %d routes, cap %d (+1 overflow)", st.Routes, maxRoutes)
	}
	if st.OverflowHits != uint64(n-maxRoutes) {
		t.Fatalf("overflow hits %d, want %d", st.OverflowHits, n-maxRoutes)
	}
	// idle healthy routes make room once their idle TTL has passed
	clk.Advance(11 * time.Minute)
	a.ReportOutcome("GET /fresh", atrion.Outcome{})
	if _, ok := a.Snapshot("GET /fresh"); !ok {
		t.Fatal("idle routes should be evicted to make room for a new one")
	}
	if a.Stats().Evictions == 0 {
		t.Fatal("evictions must be counted")
	}
}

func TestInvalidConfig(t *testing.T) {
	cases := map[string]atrion.Option{
		"WithTick":                                          atrion.WithTick(time.Microsecond),
		"WithMaxRoutes":                                     atrion.WithMaxRoutes(-1),
		"WithIdleTTL":                                       atrion.WithIdleTTL(-time.Second),
		"WithResync":                                        atrion.WithResync(0),
		"WithNodeID":                                        atrion.WithNodeID(strings.Repeat("n", 2000)),
		"PhysicsConfig.BaseResistance":                      atrion.WithPhysics(atrion.PhysicsConfig{BaseResistance: -1}),
		"PhysicsConfig.DecayRate":                           atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: math.NaN()}),
		"PhysicsConfig.ScarFactor":                          atrion.WithPhysics(atrion.PhysicsConfig{ScarFactor: math.Inf(1)}),
		"PhysicsConfig.DampingFactor":                       atrion.WithPhysics(atrion.PhysicsConfig{DampingFactor: -0.1}),
		"PhysicsConfig.CriticalPressure":                    atrion.WithPhysics(atrion.PhysicsConfig{CriticalPressure: 2}),
		"PhysicsConfig.BreakMultiplier":                     atrion.WithPhysics(atrion.PhysicsConfig{BreakMultiplier: 0.5}),
		"PhysicsConfig.BootstrapTicks":                      atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: -2}),
		"PhysicsConfig.TanhScale":                           atrion.WithPhysics(atrion.PhysicsConfig{TanhScale: -1}),
		"PhysicsConfig.RecoveryTicks":                       atrion.WithPhysics(atrion.PhysicsConfig{RecoveryTicks: -1}),
		"SLO.BaselineLatency":                               atrion.WithSLO(atrion.SLO{BaselineLatency: -time.Second}),
		"SLO.TargetErrorRate":                               atrion.WithSLO(atrion.SLO{TargetErrorRate: 1.5}),
		"SLO.Criticality.Latency":                           atrion.WithSLO(atrion.SLO{Criticality: atrion.Criticality{Latency: -1}}),
		"SLO.Criticality.Error":                             atrion.WithSLO(atrion.SLO{Criticality: atrion.Criticality{Error: math.NaN()}}),
		"SLO.Criticality.Saturation":                        atrion.WithSLO(atrion.SLO{Criticality: atrion.Criticality{Saturation: math.Inf(1)}}),
		"AutoTunerConfig.K":                                 atrion.WithAutoTuner(atrion.AutoTunerConfig{K: -1}),
		"AutoTunerConfig.Alpha":                             atrion.WithAutoTuner(atrion.AutoTunerConfig{Alpha: 2}),
		"AutoTunerConfig.Window":                            atrion.WithAutoTuner(atrion.AutoTunerConfig{Window: -5}),
		"AutoTunerConfig.MinFloor":                          atrion.WithAutoTuner(atrion.AutoTunerConfig{MinFloor: math.NaN()}),
		"AutoTunerConfig.HardCeiling":                       atrion.WithAutoTuner(atrion.AutoTunerConfig{MinFloor: 50, HardCeiling: 40}),
		"AutoTunerConfig.Warmup":                            atrion.WithAutoTuner(atrion.AutoTunerConfig{Warmup: -7}),
		`WithRouteConfig("GET /x").SLO.TargetErrorRate`:     atrion.WithRouteConfig("GET /x", atrion.RouteConfig{SLO: &atrion.SLO{TargetErrorRate: -1}}),
		`WithRouteConfig("GET /y").PhysicsConfig.DecayRate`: atrion.WithRouteConfig("GET /y", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{DecayRate: -1}}),
		`WithRouteConfig("GET /z").AutoTunerConfig.K`:       atrion.WithRouteConfig("GET /z", atrion.RouteConfig{AutoTuner: &atrion.AutoTunerConfig{K: math.Inf(1)}}),
	}
	for field, opt := range cases {
		a, err := atrion.New(opt)
		if err == nil {
			a.Close(context.Background())
			t.Errorf("%s: New accepted an invalid value", field)
			continue
		}
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %q does not name the field", field, err)
		}
	}
	// ExplicitZero and NoBootstrap are valid true zeros
	a, err := atrion.New(atrion.WithPhysics(atrion.PhysicsConfig{DampingFactor: atrion.ExplicitZero, BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Warmup: atrion.NoWarmup}), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Close(context.Background())
}

// TestExplicitZeroDisablesMomentum shows how to ask for a true zero.
func TestExplicitZeroDisablesMomentum(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{DampingFactor: atrion.ExplicitZero, BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}))
	report(a, clk, "r", 5, healthy)
	report(a, clk, "r", 1, func(int) atrion.Outcome { return atrion.Outcome{Latency: 50 * time.Millisecond, IsError: true} })
	s, _ := a.Snapshot("r")
	if s.Momentum <= 0 {
		t.Fatal("momentum itself is still measured")
	}
	want := 15.67 - 0.35 // the reference's first error tick without its momentum term
	if !near(s.Resistance, want) {
		t.Fatalf("R=%.4f, want %.4f without the momentum term", s.Resistance, want)
	}
}

type panicky struct{ calls atomic.Int64 }

func (p *panicky) OnUpdate(atrion.Event) { p.calls.Add(1); panic("observer bug") }

func TestObserversCannotStall(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var slowCalls atomic.Int64
	slow := atrion.ObserverFunc(func(atrion.Event) { slowCalls.Add(1); <-block })
	p := &panicky{}
	col := sink.NewCollector(0)
	a, clk := atriontest.New(t, atrion.WithObserver(sink.Composite(p, col)), atrion.WithObserver(slow))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10000 { // far more ticks than the observer queue holds
			tk, _ := a.Admit("r", atrion.PriorityNormal)
			tk.Done(atrion.Success)
			clk.Advance(100 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a blocked observer stalled the engine")
	}
	st := a.Stats()
	if st.ObserverDrops == 0 {
		t.Fatalf("a blocked observer must make the engine drop events: %+v", st)
	}
	// the dispatcher runs on its own goroutine: give it a moment to deliver
	for deadline := time.Now().Add(5 * time.Second); p.calls.Load() == 0 || len(col.Events()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("observers were never called")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestObserverPanicCounted(t *testing.T) {
	p := &panicky{}
	a, clk := atriontest.New(t, atrion.WithObserver(p))
	report(a, clk, "r", 20, healthy)
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().ObserverPanics; got == 0 || int64(got) != p.calls.Load() {
		t.Fatalf("observer panics counted %d, calls %d", got, p.calls.Load())
	}
}

// TestObserverPerTickNotPerRequest: 1000 requests in a tick make one event.
func TestObserverPerTickNotPerRequest(t *testing.T) {
	col := sink.NewCollector(0)
	a, clk := atriontest.New(t, atrion.WithObserver(col))
	for range 12 {
		for range 1000 {
			tk, _ := a.Admit("r", atrion.PriorityNormal)
			tk.Done(atrion.Success)
		}
		clk.Advance(100 * time.Millisecond)
	}
	a.Snapshot("r")
	a.Flush(context.Background())
	ticks, transitions := 0, 0
	for _, e := range col.Events() {
		if e.Kind == atrion.EventTick {
			ticks++
			if e.Admitted != 1000 || e.Succeeded != 1000 {
				t.Fatalf("tick event counts %+v", e)
			}
		} else {
			transitions++
			if e.From != atrion.ModeBootstrap || e.To != atrion.ModeOperational {
				t.Fatalf("unexpected transition %v → %v", e.From, e.To)
			}
		}
	}
	if ticks != 12 || transitions != 1 {
		t.Fatalf("%d tick events and %d transitions, want 12 and 1", ticks, transitions)
	}
}

// failingProvider errors or hangs on every call.
type failingProvider struct{ hang bool }

func (f failingProvider) wait(ctx context.Context) error {
	if f.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return errors.New("provider down")
}
func (f failingProvider) Get(ctx context.Context, _ string) (atrion.PhysicsVector, bool, error) {
	return atrion.PhysicsVector{}, false, f.wait(ctx)
}
func (f failingProvider) Set(ctx context.Context, _ atrion.PhysicsVector) error { return f.wait(ctx) }
func (f failingProvider) Delete(ctx context.Context, _ string) error            { return f.wait(ctx) }
func (f failingProvider) Keys(ctx context.Context) ([]string, error)            { return nil, f.wait(ctx) }

func TestProviderFailuresFailOpen(t *testing.T) {
	for _, hang := range []bool{false, true} {
		a, clk := atriontest.New(t, atrion.WithProvider(failingProvider{hang: hang}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 200 {
				tk, d := a.Admit("r", atrion.PriorityNormal)
				if !d.Allowed {
					t.Error("a failing provider must not cause rejections")
				}
				tk.Done(atrion.Success)
				// another route's failures have news to publish
				a.ReportOutcome("f", atrion.Outcome{IsError: i%2 == 0})
				clk.Advance(100 * time.Millisecond)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("hang=%v: a failing provider blocked requests", hang)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.Flush(ctx)
		cancel()
		if a.Stats().ProviderErrors == 0 {
			t.Fatalf("hang=%v: provider errors must be counted", hang)
		}
	}
}

// garbageProvider pushes invalid vectors to the engine.
type garbageProvider struct{ *atrion.InMemoryProvider }

func (g garbageProvider) Subscribe(ctx context.Context, fn func(atrion.PhysicsVector)) error {
	for _, v := range []atrion.PhysicsVector{
		{}, {Route: "r", Scar: math.NaN()}, {Route: "r", Scar: -1}, {Route: "r", Mode: 99},
		{Route: "r", Resistance: math.Inf(1)}, {Route: strings.Repeat("r", 5000)},
	} {
		fn(v)
	}
	return nil
}

func TestGarbagePeerUpdates(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithProvider(garbageProvider{atrion.NewInMemoryProvider(0)}))
	report(a, clk, "r", 20, healthy)
	a.Flush(context.Background())
	if got := a.Stats().BadPeerUpdates; got != 6 {
		t.Fatalf("bad peer updates %d, want 6", got)
	}
	s, _ := a.Snapshot("r")
	if s.Scar != 0 || s.Mode != atrion.ModeOperational {
		t.Fatalf("garbage changed state: %+v", s)
	}
}
