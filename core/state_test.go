package atrion_test

import (
	"context"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
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
	c.batches = append(c.batches, vs)
	c.mu.Unlock()
	return c.InMemoryProvider.SetBatch(ctx, vs)
}

// TestPublishPerTickNotPerRequest: ten thousand requests in a tick publish
// nothing until the tick closes, then one vector in one batch.
func TestPublishPerTickNotPerRequest(t *testing.T) {
	p := &countingProvider{InMemoryProvider: atrion.NewInMemoryProvider(0)}
	a, clk := newManual(t, atrion.WithProvider(p))
	for range 10000 {
		tk, _ := a.Admit("r", atrion.PriorityNormal)
		tk.Done(atrion.Success)
	}
	a.Flush(context.Background())
	p.mu.Lock()
	n := len(p.batches)
	p.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d batches before any tick closed", n)
	}
	clk.Advance(100 * time.Millisecond)
	a.Snapshot("r")
	a.Flush(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.batches) != 1 || len(p.batches[0]) != 1 || p.batches[0][0].Route != "r" {
		t.Fatalf("batches %v, want one batch with route r", p.batches)
	}
	v := p.batches[0][0]
	if v.NodeID != a.NodeID() || v.Tick != 1 || v.Mode != atrion.ModeBootstrap {
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
