package atrion_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func TestInMemoryProviderLRU(t *testing.T) {
	ctx := context.Background()
	p := atrion.NewInMemoryProvider(2)
	for _, r := range []string{"a", "b"} {
		if err := p.Set(ctx, atrion.PhysicsVector{Route: r, Scar: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := p.Get(ctx, "a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	p.SetBatch(ctx, []atrion.PhysicsVector{{Route: "c"}})
	if _, ok, _ := p.Get(ctx, "b"); ok {
		t.Fatal("least recently used vector b should have been evicted")
	}
	keys, _ := p.Keys(ctx)
	if len(keys) != 2 || p.Len() != 2 {
		t.Fatalf("keys %v", keys)
	}
	p.Delete(ctx, "a")
	if _, ok, _ := p.Get(ctx, "a"); ok {
		t.Fatal("deleted vector still there")
	}
}

func TestMergePolicies(t *testing.T) {
	old := time.Unix(100, 0)
	local := atrion.PhysicsVector{Route: "r", Scar: 10, UpdatedAt: old}
	remote := atrion.PhysicsVector{Route: "r", Scar: 40, UpdatedAt: old.Add(time.Second)}
	if got := atrion.MergeLastWriterWins(local, remote); got.Scar != 40 {
		t.Fatalf("LWW took %v", got.Scar)
	}
	if got := atrion.MergeLastWriterWins(remote, local); got.Scar != 40 {
		t.Fatalf("LWW must keep the newer local vector, took %v", got.Scar)
	}
	if got := atrion.MergeMaxScar(local, remote); got.Scar != 40 {
		t.Fatalf("max-scar took %v", got.Scar)
	}
	if got := atrion.MergeGamma(0.3)(local, remote); !near(got.Scar, 0.3*40+0.7*10) {
		t.Fatalf("gamma took %v", got.Scar)
	}
	for _, g := range []float64{-1, 2} { // clamped
		if got := atrion.MergeGamma(g)(local, remote).Scar; got != 10 && got != 40 {
			t.Fatalf("gamma %v not clamped: %v", g, got)
		}
	}
}

// countingProvider counts the batches the engine publishes.
type countingProvider struct {
	*atrion.InMemoryProvider
	mu      sync.Mutex
	batches [][]atrion.PhysicsVector
}

func (c *countingProvider) SetBatch(ctx context.Context, vs []atrion.PhysicsVector) error {
	c.mu.Lock()
	c.batches = append(c.batches, slices.Clone(vs)) // the engine reuses vs
	c.mu.Unlock()
	return c.InMemoryProvider.SetBatch(ctx, vs)
}

// TestPublishPerTickNotPerRequest: ten thousand failing requests in a
// tick publish nothing until the tick closes, then one vector in one
// batch; ten thousand healthy ones publish nothing at all (a quiet route
// has no news).
func TestPublishPerTickNotPerRequest(t *testing.T) {
	p := &countingProvider{InMemoryProvider: atrion.NewInMemoryProvider(0)}
	a, clk := atriontest.New(t, atrion.WithProvider(p), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	batches := func() [][]atrion.PhysicsVector {
		a.Flush(context.Background())
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Clone(p.batches)
	}
	serve := func(c atrion.Class) {
		for range 10000 {
			tk, _ := a.Admit("r", atrion.PriorityNormal)
			tk.Done(c)
		}
	}
	serve(atrion.Success)
	clk.Advance(100 * time.Millisecond)
	serve(atrion.Failure) // closes the healthy tick first
	if b := batches(); len(b) != 0 {
		t.Fatalf("%d batches from a healthy tick and an open one: %v", len(b), b)
	}
	clk.Advance(100 * time.Millisecond)
	a.Snapshot("r")
	b := batches()
	if len(b) != 1 || len(b[0]) != 1 || b[0][0].Route != "r" {
		t.Fatalf("batches %v, want one batch with route r", b)
	}
	v := b[0][0]
	if v.NodeID != a.NodeID() || v.Tick != 2 || v.Scar == 0 || !v.UpdatedAt.Equal(a.Now()) {
		t.Fatalf("vector %+v", v)
	}
}

// TestPeersShareState: two engines on one provider; a trip on one raises R
// on the other through the periodic resync.
func TestPeersShareState(t *testing.T) {
	shared := atrion.NewInMemoryProvider(0)
	opts := func(node string, clk *atrion.ManualClock) []atrion.Option {
		return []atrion.Option{atrion.WithClock(clk), atrion.WithProvider(shared), atrion.WithNodeID(node),
			atrion.WithResync(20 * time.Millisecond), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true})}
	}
	clkA, clkB := atrion.NewManualClock(epoch), atrion.NewManualClock(epoch)
	a, _ := atrion.New(opts("a", clkA)...)
	b, _ := atrion.New(opts("b", clkB)...)
	defer a.Close(context.Background())
	defer b.Close(context.Background())
	report(b, clkB, "r", 15, healthy)
	// the nodes' clocks agree once a has run its 45 ticks (b refuses
	// vectors dated ahead of its own clock)
	clkB.Advance(30 * 100 * time.Millisecond)
	b.Snapshot("r")               // closes b's last tick
	b.Flush(context.Background()) // b's own vector lands first; a's overwrites it
	report(a, clkA, "r", 15, healthy)
	report(a, clkA, "r", 30, func(int) atrion.Outcome { return atrion.Outcome{IsError: true} })
	sa, _ := a.Snapshot("r")
	if sa.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("a: %v", sa.Mode)
	}
	a.Flush(context.Background())
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if sb, _ := b.Snapshot("r"); sb.Scar > 50 {
			clkB.Advance(100 * time.Millisecond)
			if sb, _ := b.Snapshot("r"); sb.Mode != atrion.ModeCircuitOpen {
				t.Fatalf("b took the scar (%.1f) but did not open: %v R=%.1f", sb.Scar, sb.Mode, sb.Resistance)
			}
			if b.Stats().PeerUpdates == 0 {
				t.Fatal("peer updates not counted")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	sb, _ := b.Snapshot("r")
	keys, _ := shared.Keys(context.Background())
	t.Fatalf("b never saw a's scar: %+v\nstats %+v keys %v", sb, b.Stats(), keys)
}

// TestLWWBusyHealthyPeerKeepsScar: under last-writer-wins a busy, healthy
// peer publishing every tick must not erase a failing node's scar.
func TestLWWBusyHealthyPeerKeepsScar(t *testing.T) {
	shared := atrion.NewInMemoryProvider(0)
	clkA, clkB := atrion.NewManualClock(epoch), atrion.NewManualClock(epoch)
	mk := func(node string, clk *atrion.ManualClock) *atrion.Atrion {
		a, err := atrion.New(atrion.WithClock(clk), atrion.WithProvider(shared), atrion.WithNodeID(node),
			atrion.WithResync(10*time.Millisecond), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
			atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(context.Background()) })
		return a
	}
	a, b := mk("a", clkA), mk("b", clkB)
	clkB.Advance(time.Millisecond) // b's clock runs a little ahead: its ticks are "later"
	for range 40 {
		a.ReportOutcome("r", atrion.Outcome{IsError: true})
		b.ReportOutcome("r", atrion.Outcome{Latency: time.Millisecond})
		clkA.Advance(100 * time.Millisecond)
		clkB.Advance(100 * time.Millisecond)
		a.Snapshot("r")
		b.Snapshot("r")
		b.Flush(context.Background())     // b's healthy vector is the latest write
		time.Sleep(12 * time.Millisecond) // let a resync read it
	}
	s, _ := a.Snapshot("r")
	if s.Mode != atrion.ModeCircuitOpen || s.Scar < 90 {
		t.Fatalf("a failing node lost its scar to a healthy peer: %v S=%.1f", s.Mode, s.Scar)
	}
}

// TestPeerVectorBounds: vectors no node with the route's physics could
// write (scar, momentum or R beyond the physical maximum, a time ahead of
// the local clock) are refused, counted and logged once per period;
// vectors at the bound are merged.
func TestPeerVectorBounds(t *testing.T) {
	// defaults: σ 5, λ 0.1/s, 100 ms ticks: S* = 5 / (1 − e^(−0.01)) ≈ 502.5
	maxScar := 5 / -math.Expm1(-0.1*0.1)
	for _, tc := range []struct {
		name    string
		v       func(now time.Time) atrion.PhysicsVector
		refused bool
	}{
		{"at the scar bound", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: maxScar, Resistance: 10 + maxScar, UpdatedAt: now}
		}, false},
		{"dated within the skew", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: 50, Resistance: 60, UpdatedAt: now.Add(atrion.MaxPeerClockSkew)}
		}, false},
		{"scar past the bound", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: maxScar * 1.001, Resistance: 10, UpdatedAt: now}
		}, true},
		{"scar 1e300", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: 1e300, Resistance: 1e300, UpdatedAt: now}
		}, true},
		{"momentum past the bound", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Momentum: 2 * math.Sqrt(3) / 0.1 * 1.01, Resistance: 10, UpdatedAt: now}
		}, true},
		{"R past the bound", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: 1, Resistance: 700, UpdatedAt: now}
		}, true},
		{"dated past the skew", func(now time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: 50, Resistance: 60, UpdatedAt: now.Add(atrion.MaxPeerClockSkew + time.Millisecond)}
		}, true},
		{"dated in the year 2100", func(time.Time) atrion.PhysicsVector {
			return atrion.PhysicsVector{Scar: 50, Resistance: 60, UpdatedAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared := atrion.NewInMemoryProvider(0)
			var logged countingHandler
			a, clk := atriontest.New(t, atrion.WithProvider(shared), atrion.WithResync(10*time.Millisecond),
				atrion.WithLogger(slog.New(&logged)), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
			report(a, clk, "r", 3, healthy)
			a.Snapshot("r") // closes the last tick: a's own vector is written before the peer's
			a.Flush(context.Background())
			v := tc.v(a.Now())
			v.Route, v.Mode, v.NodeID = "r", atrion.ModeOperational, "peer"
			shared.Set(context.Background(), v)
			waitUntil(t, func() bool { s := a.Stats(); return s.PeerUpdates+s.RefusedPeerUpdates >= 3 })
			s := a.Stats()
			snap, _ := a.Snapshot("r")
			if tc.refused {
				if s.PeerUpdates != 0 || snap.Scar != 0 {
					t.Errorf("merged %d (scar now %.1f), want it refused", s.PeerUpdates, snap.Scar)
				}
				if n := logged.n.Load(); n != 1 {
					t.Errorf("logged %d lines for %d refusals, want 1", n, s.RefusedPeerUpdates)
				}
				return
			}
			if s.RefusedPeerUpdates != 0 || snap.Scar < v.Scar*0.99 {
				t.Errorf("refused %d, scar %.1f: want %.1f merged", s.RefusedPeerUpdates, snap.Scar, v.Scar)
			}
		})
	}
}

// TestDefaultNodeIDsUnique: two engines of one process are two nodes.
func TestDefaultNodeIDsUnique(t *testing.T) {
	a, _ := atriontest.New(t)
	b, _ := atriontest.New(t)
	if a.NodeID() == b.NodeID() {
		t.Fatalf("both engines are %q", a.NodeID())
	}
	if host, _ := os.Hostname(); !strings.HasPrefix(a.NodeID(), fmt.Sprintf("%s-%d-", host, os.Getpid())) {
		t.Errorf("node ID %q is not host-pid-suffix", a.NodeID())
	}
}

// countingHandler counts the log records it gets.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h *countingHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h *countingHandler) WithGroup(string) slog.Handler             { return h }

// waitUntil polls cond every 5 ms for at most 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAdoptedStateKeepsItsTime: a node that adopts a peer's open circuit
// and opens because of it republishes the adopted scar with the peer's
// time, not as its own fresh evidence; its own trauma later dates its
// vector again.
func TestAdoptedStateKeepsItsTime(t *testing.T) {
	shared := atrion.NewInMemoryProvider(0)
	a, clk := atriontest.New(t, atrion.WithProvider(shared), atrion.WithResync(10*time.Millisecond),
		atrion.WithNodeID("a"), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	ctx := context.Background()
	report(a, clk, "r", 3, healthy)
	a.Snapshot("r")
	a.Flush(ctx)
	sent := a.Now()
	shared.Set(ctx, atrion.PhysicsVector{Route: "r", Scar: 400, Resistance: 410, Mode: atrion.ModeCircuitOpen, UpdatedAt: sent, NodeID: "peer"})
	waitUntil(t, func() bool { return a.Stats().PeerUpdates > 0 })
	report(a, clk, "r", 2, healthy) // the next tick close opens the circuit on the peer's evidence
	s, _ := a.Snapshot("r")
	a.Flush(ctx)
	v, _, _ := shared.Get(ctx, "r")
	if s.Mode != atrion.ModeCircuitOpen || v.NodeID != "a" {
		t.Fatalf("mode %v, stored vector from %q", s.Mode, v.NodeID)
	}
	if !v.UpdatedAt.Equal(sent) {
		t.Errorf("a republished the adopted scar %.1f dated %v, want the peer's %v", v.Scar, v.UpdatedAt, sent)
	}
}
