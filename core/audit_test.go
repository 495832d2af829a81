package atrion_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// A transition is audited with its evidence, an update with who made it
// and the configuration before and after, a control with its actor.
func TestAuditTrail(t *testing.T) {
	var log atriontest.AuditLog
	a, clk := atriontest.New(t, atrion.WithAudit(&log), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	atriontest.Healthy(t, a, clk, "GET /pay", 12)
	atriontest.Trip(t, a, clk, "GET /pay")
	if err := a.Update(atrion.UpdatedBy("ops@console"), atrion.WithRouteConfig("GET /pay",
		atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 4}})); err != nil {
		t.Fatal(err)
	}
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Route: "GET /pay", Actor: "dashboard 10.0.0.7", Action: "evict"})
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var open *atrion.AuditRecord
	for _, r := range log.Of(atrion.AuditTransition) {
		if r.To == "CIRCUIT_OPEN" {
			open = &r
		}
	}
	if open == nil || open.Route != "GET /pay" || open.From != "OPERATIONAL" || open.Actor != "engine" ||
		open.Resistance <= 0 || open.ErrorRate <= 0.5 || open.ErrorBound <= 0 || open.Time.IsZero() {
		t.Fatalf("open transition %+v: want the route, OPERATIONAL → CIRCUIT_OPEN, with R and the error evidence", open)
	}
	cfg := log.Of(atrion.AuditConfig)
	if len(cfg) != 1 || cfg[0].Actor != "ops@console" || strings.Contains(cfg[0].From, `"GET /pay"`) ||
		!strings.Contains(cfg[0].To, `"GET /pay":{"physics":{"BaseResistance":0`) || !strings.Contains(cfg[0].To, `"BreakMultiplier":4`) {
		t.Fatalf("config records %+v", cfg)
	}
	if c := log.Of(atrion.AuditControl); len(c) != 1 || c[0].Actor != "dashboard 10.0.0.7" || c[0].Time.IsZero() {
		t.Fatalf("control records %+v", c)
	}
	// a refused update is no change: nothing audited
	a.Update(atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: -1}))
	a.Flush(context.Background())
	if n := len(log.Of(atrion.AuditConfig)); n != 1 {
		t.Fatalf("%d config records after a refused update, want 1", n)
	}
}

// A sink that blocks loses its own records only; the engine and the other
// sinks go on.
func TestAuditSinkBlocks(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var log atriontest.AuditLog
	a, clk := atriontest.New(t,
		atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { <-block })),
		atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { panic("sink bug") })),
		atrion.WithAudit(&log))
	// in bursts of 1,000 that the healthy sink takes in before the next
	// (its queue holds 4,096: a burst beyond that is dropped by design,
	// however fast the sink), while the blocked sink's queue fills and drops
	deadline := time.Now().Add(10 * time.Second)
	for i := range 5000 {
		a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "t", Action: fmt.Sprint(i)})
		for (i+1)%1000 == 0 && len(log.Of(atrion.AuditControl)) < i+1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	atriontest.Healthy(t, a, clk, "r", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	a.Flush(ctx) // the blocked sink never flushes
	st := a.Stats()
	if n := len(log.Of(atrion.AuditControl)); n != 5000 {
		t.Fatalf("the healthy sink got %d of 5000 records", n)
	}
	if len(st.AuditSinks) != 3 || st.AuditSinks[0].Drops == 0 || st.AuditSinks[2].Drops != 0 || st.AuditPanics < 5000-1 {
		t.Fatalf("stats %+v: want the blocked sink's drops counted, none for the healthy one, the panics counted", st)
	}
}

// A sink that falls behind holds at most 8 MiB of records, whatever their
// size, not 4,096 of them: the rest are dropped and counted.
func TestAuditQueueBoundedInBytes(t *testing.T) {
	block := make(chan struct{})
	var got atomic.Int64
	a, _ := atriontest.New(t, atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { <-block; got.Add(1) })))
	unblock := sync.OnceFunc(func() { close(block) })
	defer unblock()
	big := strings.Repeat("x", 1<<20)
	for range 20 {
		a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "test", Detail: big})
	}
	// 8 MiB holds 7 records of a MiB and their overhead: 13 of 20 dropped
	st := a.Stats()
	if st.AuditDrops != 13 || st.AuditSinks[0].Drops != 13 {
		t.Fatalf("drops %d (the sink's %d): want 13", st.AuditDrops, st.AuditSinks[0].Drops)
	}
	unblock()
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 7 {
		t.Fatalf("the sink got %d records, want the 7 queued", got.Load())
	}
	// with its queue drained, the sink takes records again
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "test", Detail: big})
	a.Flush(context.Background())
	if st2 := a.Stats(); st2.AuditDrops != st.AuditDrops || got.Load() != 8 {
		t.Fatalf("a drained queue still drops: %d → %d", st.AuditDrops, st2.AuditDrops)
	}
}

// A configuration change is audited as what changed, bounded in size: an
// update of 3,000 route overrides is not a megabyte per record.
func TestAuditConfigIsADiff(t *testing.T) {
	var log atriontest.AuditLog
	a, _ := atriontest.New(t, atrion.WithAudit(&log))
	six := &atrion.PhysicsConfig{BreakMultiplier: 6}
	if err := a.Update(atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.2}), atrion.WithRouteConfig("GET /a", atrion.RouteConfig{Physics: six})); err != nil {
		t.Fatal(err)
	}
	var many []atrion.Option
	for i := range 3000 {
		many = append(many, atrion.WithRouteConfig(fmt.Sprintf("GET /route/%04d/%s", i, strings.Repeat("p", 200)), atrion.RouteConfig{Physics: six}))
	}
	if err := a.Update(many...); err != nil {
		t.Fatal(err)
	}
	// remove GET /a only
	if err := a.Update(atrion.WithRouteConfig("GET /a", atrion.RouteConfig{})); err != nil {
		t.Fatal(err)
	}
	a.Flush(context.Background())
	recs := log.Of(atrion.AuditConfig)
	if len(recs) != 3 {
		t.Fatalf("%d config records, want 3", len(recs))
	}
	first, bulk, removal := recs[0], recs[1], recs[2]
	if !strings.Contains(first.From, `"physics":{"BaseResistance":0,"DecayRate":0`) || !strings.Contains(first.To, `"DecayRate":0.2`) ||
		strings.Contains(first.From, `"GET /a"`) || !strings.Contains(first.To, `"GET /a":{"physics"`) || strings.Contains(first.To, "slo") {
		t.Fatalf("first change: from %s to %s: want physics and the new route only", first.From, first.To)
	}
	if len(bulk.From)+len(bulk.To) > 10<<10 || !strings.Contains(bulk.To, `"routesNotListed":`) || strings.Contains(bulk.To, `"GET /a"`) || strings.Contains(bulk.From, "physics") {
		t.Fatalf("bulk change: %d + %d bytes (from %.200s): want at most 10 kB, the unlisted routes counted, nothing unchanged", len(bulk.From), len(bulk.To), bulk.From)
	}
	if removal.To != "{}" || !strings.Contains(removal.From, `"routes":{"GET /a":{"physics":{`) {
		t.Fatalf("removing GET /a: from %s to %s", removal.From, removal.To)
	}
}
