package atrion_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// syncEngine is an engine with an audit log whose peers' vectors the test
// delivers itself (fn), with routes r0..r(n-1) tracked and OPERATIONAL.
func syncEngine(t *testing.T, n int, opts ...atrion.Option) (*atrion.Atrion, *atrion.ManualClock, *atriontest.AuditLog, func(atrion.PhysicsVector)) {
	t.Helper()
	bp := &burstProvider{InMemoryProvider: atrion.NewInMemoryProvider(0), fn: make(chan func(atrion.PhysicsVector), 1)}
	var log atriontest.AuditLog
	a, clk := atriontest.New(t, append([]atrion.Option{atrion.WithProvider(bp), atrion.WithAudit(&log), atrion.WithNodeID("me"),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap})}, opts...)...)
	fn := <-bp.fn
	for i := range n {
		a.ReportOutcome("r"+strconv.Itoa(i), atrion.Outcome{})
	}
	return a, clk, &log, fn
}

func flushed(t *testing.T, a *atrion.Atrion) {
	t.Helper()
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// One adopted vector is one record naming the route, the peer and what
// it carried; a vector the merge does not take is no record.
func TestAuditPeerAdopted(t *testing.T) {
	a, _, log, fn := syncEngine(t, 1)
	// newer evidence than the route's own (last writer wins)
	fn(atrion.PhysicsVector{Route: "r0", Scar: 30, Resistance: 40, Mode: atrion.ModeCircuitOpen, UpdatedAt: a.Now().Add(time.Millisecond), NodeID: "web-2"})
	fn(atrion.PhysicsVector{Route: "r0", Scar: 2, Resistance: 12, Mode: atrion.ModeOperational,
		UpdatedAt: a.Now().Add(-time.Hour), NodeID: "web-3"}) // older: last writer wins keeps ours
	flushed(t, a)
	recs := log.Of(atrion.AuditPeerAdopted)
	if len(recs) != 1 {
		t.Fatalf("records %+v, want one", recs)
	}
	r := recs[0]
	if r.Route != "r0" || r.Actor != "web-2" || r.Scar != 30 || r.Resistance != 40 || r.To != "CIRCUIT_OPEN" || r.Time.IsZero() {
		t.Fatalf("record %+v", r)
	}
	if n := len(log.Of(atrion.AuditPeerRefused)); n != 0 {
		t.Fatalf("%d refusals", n)
	}
}

// A burst of 1,000 adopted vectors from one peer is one record that
// counts them and names a few routes; the sinks are not flooded.
func TestAuditPeerBurstAggregated(t *testing.T) {
	const n = 1000
	a, _, log, fn := syncEngine(t, n)
	for i := range n {
		fn(atrion.PhysicsVector{Route: "r" + strconv.Itoa(i), Scar: 20, Resistance: 30, Mode: atrion.ModeOperational,
			UpdatedAt: a.Now().Add(time.Millisecond), NodeID: "web-2"})
	}
	flushed(t, a)
	recs := log.Of(atrion.AuditPeerAdopted)
	if len(recs) != 1 {
		t.Fatalf("%d records for one burst, want 1", len(recs))
	}
	r := recs[0]
	if r.Actor != "web-2" || r.Route != "" || !strings.HasPrefix(r.Detail, "1000 vectors; routes r0, r1, r2, r3, r4, …") {
		t.Fatalf("record %+v", r)
	}
	if st := a.Stats(); st.PeerUpdates != n || st.AuditDrops != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Refused vectors are recorded with their peer and why, one record per
// reason; distinct node IDs beyond a bound fold into one actor, so a
// sender inventing node IDs cannot flood the trail.
func TestAuditPeerRefused(t *testing.T) {
	a, _, log, fn := syncEngine(t, 1)
	fn(atrion.PhysicsVector{Route: "r0", Scar: 3, Resistance: 13, Mode: atrion.ModeOperational, UpdatedAt: a.Now().Add(time.Hour), NodeID: "evil"})
	fn(atrion.PhysicsVector{Route: "r0", Scar: 1e9, Resistance: 13, Mode: atrion.ModeOperational, UpdatedAt: a.Now(), NodeID: "evil"})
	flushed(t, a)
	recs := log.Of(atrion.AuditPeerRefused)
	if len(recs) != 2 {
		t.Fatalf("records %+v, want two", recs)
	}
	if r := recs[0]; r.Route != "r0" || r.Actor != "evil" || !strings.HasPrefix(r.Detail, "dated in the future (ahead 1h0m0s)") {
		t.Fatalf("record %+v", r)
	}
	if r := recs[1]; r.Scar != 1e9 || !strings.HasPrefix(r.Detail, "scar beyond the physical maximum (max 5") {
		t.Fatalf("record %+v", r)
	}
	if n := len(log.Of(atrion.AuditPeerAdopted)); n != 0 {
		t.Fatalf("%d adopted", n)
	}

	for i := range 500 {
		fn(atrion.PhysicsVector{Route: "r0", Scar: 1e9, Resistance: 13, Mode: atrion.ModeOperational, UpdatedAt: a.Now(), NodeID: "n" + strconv.Itoa(i)})
	}
	flushed(t, a)
	recs = log.Of(atrion.AuditPeerRefused)[2:]
	if len(recs) != 65 || recs[64].Actor != "(other nodes)" || !strings.HasPrefix(recs[64].Detail, "436 vectors: scar beyond") {
		t.Fatalf("%d records for 500 node IDs, the last %+v; want 64 and one for the other 436", len(recs), recs[len(recs)-1])
	}
}

// Evict and the idle sweep record the routes they evict: Evict each
// one, a sweep one record for a flood of them.
func TestAuditEvicted(t *testing.T) {
	var log atriontest.AuditLog
	a, clk := atriontest.New(t, atrion.WithAudit(&log), atrion.WithMaxRoutes(100), atrion.WithIdleTTL(time.Second))
	for i := range 100 {
		a.ReportOutcome("r"+strconv.Itoa(i), atrion.Outcome{})
	}
	if !a.Evict("r7") {
		t.Fatal("r7 not tracked")
	}
	flushed(t, a)
	recs := log.Of(atrion.AuditEvicted)
	if len(recs) != 1 || recs[0].Route != "r7" || recs[0].Actor != "Evict" {
		t.Fatalf("records %+v, want r7 by Evict", recs)
	}
	clk.Advance(2 * time.Second)
	for i := range 100 { // new routes at the cap: idle ones make room, one a tick
		a.ReportOutcome("new"+strconv.Itoa(i), atrion.Outcome{})
		clk.Advance(a.Tick())
	}
	flushed(t, a)
	ev := a.Stats().Evictions
	recs = log.Of(atrion.AuditEvicted)[1:]
	if ev < 10 || len(recs) == 0 || len(recs) > 2 {
		t.Fatalf("%d evictions, records %+v: want them in one record or two", ev, recs)
	}
	total := 0
	for _, r := range recs {
		if r.Actor != "idle sweep" {
			t.Fatalf("record %+v", r)
		}
		if r.Route != "" {
			total++
			continue
		}
		n, _, _ := strings.Cut(r.Detail, " ")
		k, err := strconv.Atoi(n)
		if err != nil || !strings.Contains(r.Detail, "routes evicted: idle and healthy; routes r") {
			t.Fatalf("record %+v", r)
		}
		total += k
	}
	if uint64(total)+1 != ev {
		t.Fatalf("records count %d evictions, Stats %d (Evict's one included)", total, ev)
	}
}

// A peer's vector is checked against the route's physics under the
// route's lock: Update changes them at tick closes while vectors arrive
// (the race detector watches).
func TestPeerBoundsDuringUpdate(t *testing.T) {
	a, clk, _, fn := syncEngine(t, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := a.Update(atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, ScarFactor: float64(1 + i%5)})); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 200 {
		fn(atrion.PhysicsVector{Route: "r0", Scar: 1, Resistance: 12, Mode: atrion.ModeOperational, UpdatedAt: a.Now(), NodeID: "p"})
		a.ReportOutcome("r0", atrion.Outcome{IsError: i%2 == 0})
		clk.Advance(a.Tick())
	}
	<-done
	flushed(t, a)
	if st := a.Stats(); st.PeerUpdates+st.RefusedPeerUpdates != 200 {
		t.Fatalf("stats %+v: want every vector applied or refused", st)
	}
}
