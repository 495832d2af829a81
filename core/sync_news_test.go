package atrion_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// recordingProvider is an InMemoryProvider that records every vector the
// engine publishes, optionally with a TTL (atrion.Expiring).
type recordingProvider struct {
	*atrion.InMemoryProvider
	ttl time.Duration
	mu  sync.Mutex
	vs  []atrion.PhysicsVector
}

func newRecording() *recordingProvider {
	return &recordingProvider{InMemoryProvider: atrion.NewInMemoryProvider(0)}
}

func (p *recordingProvider) SetBatch(ctx context.Context, vs []atrion.PhysicsVector) error {
	p.mu.Lock()
	p.vs = append(p.vs, vs...)
	p.mu.Unlock()
	return p.InMemoryProvider.SetBatch(ctx, vs)
}

func (p *recordingProvider) TTL() time.Duration { return p.ttl }

// sent returns the vectors published for route so far, after a flush.
func (p *recordingProvider) sent(a *atrion.Atrion, route string) []atrion.PhysicsVector {
	a.Flush(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []atrion.PhysicsVector
	for _, v := range p.vs {
		if v.Route == route {
			out = append(out, v)
		}
	}
	return out
}

func (p *recordingProvider) total(a *atrion.Atrion) int {
	a.Flush(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.vs)
}

// TestPublishOnChange: busy healthy routes publish nothing; a route that
// trips publishes on its trauma ticks and mode changes, republishes its
// healing scar at material steps (not every tick) and, once quiet again,
// one last vector that says so, then nothing.
func TestPublishOnChange(t *testing.T) {
	p := newRecording()
	a, clk := atriontest.New(t, atrion.WithProvider(p), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	// a tick of traffic on routes; the flush hands the tick's news to the
	// provider at once (on the manual clock many ticks pass in one of real
	// time, and the engine publishes at most once per tick of real time)
	tick := func(o func(route string) atrion.Outcome, routes ...string) {
		for _, r := range routes {
			for range 20 {
				a.ReportOutcome(r, o(r))
			}
		}
		clk.Advance(100 * time.Millisecond)
		a.Flush(context.Background())
	}
	healthy := func(string) atrion.Outcome { return atrion.Outcome{Latency: 5 * time.Millisecond} }
	var routes []string
	for i := range 100 {
		routes = append(routes, "GET /r/"+strconv.Itoa(i))
	}
	for range 30 {
		tick(healthy, routes...)
	}
	if n := p.total(a); n != 0 {
		t.Fatalf("100 healthy routes over 30 ticks published %d vectors, want none", n)
	}
	const bad = "GET /bad"
	failing := func(r string) atrion.Outcome {
		if r == bad {
			return atrion.Outcome{IsError: true}
		}
		return healthy(r)
	}
	for range 10 {
		tick(failing, append(routes, bad)...)
	}
	tripped := p.sent(a, bad)
	if len(tripped) < 5 || tripped[0].Scar <= 0 {
		t.Fatalf("10 failing ticks published %d vectors, want one per trauma tick: %v", len(tripped), tripped)
	}
	if s, _ := a.Snapshot(bad); s.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("the failing route is %v, want open", s.Mode)
	}
	// heal: healthy traffic until the route is quiet (about a minute)
	ticks := 0
	for ; ticks < 2000; ticks++ {
		tick(healthy, append(routes, bad)...)
		if s, _ := a.Snapshot(bad); s.Mode == atrion.ModeOperational && s.Scar < 0.5 {
			break
		}
	}
	healing := p.sent(a, bad)[len(tripped):]
	t.Logf("tripped %d, healed in %d ticks with %d vectors", len(tripped), ticks, len(healing))
	if len(healing) == 0 || len(healing) > ticks/5 {
		t.Fatalf("healing over %d ticks published %d vectors, want some, at most one per 5 ticks", ticks, len(healing))
	}
	last := healing[len(healing)-1]
	if last.Mode != atrion.ModeOperational || last.Scar >= 0.5 {
		t.Fatalf("the last vector %+v does not say the route is quiet again", last)
	}
	for range 30 {
		tick(healthy, append(routes, bad)...)
	}
	if n := len(p.sent(a, bad)); n != len(tripped)+len(healing) {
		t.Fatalf("a quiet route published %d more vectors", n-len(tripped)-len(healing))
	}
	if n := p.total(a); n != len(tripped)+len(healing) {
		t.Fatalf("healthy routes published %d vectors", n-len(tripped)-len(healing))
	}
}

// TestHeartbeat: a route whose last vector said something (a scar that
// does not heal) is published again every third of the provider's TTL
// while it is active, though nothing changes.
func TestHeartbeat(t *testing.T) {
	p := newRecording()
	p.ttl = 3 * time.Second // heartbeat 1 s: 10 ticks
	a, clk := atriontest.New(t, atrion.WithProvider(p), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, DecayRate: atrion.ExplicitZero, ScarFactor: 2}))
	a.ReportOutcome("r", atrion.Outcome{IsError: true}) // one trauma tick: scar 2, for good
	clk.Advance(100 * time.Millisecond)
	a.ReportOutcome("r", atrion.Outcome{Latency: 5 * time.Millisecond})
	first := len(p.sent(a, "r"))
	if first != 1 {
		t.Fatalf("the trauma tick published %d vectors, want 1", first)
	}
	// the syncer looks for heartbeats every tick of real time
	for i := range 40 {
		clk.Advance(100 * time.Millisecond)
		a.ReportOutcome("r", atrion.Outcome{Latency: 5 * time.Millisecond})
		if i%10 == 9 {
			time.Sleep(250 * time.Millisecond)
		}
	}
	got := p.sent(a, "r")
	if len(got) < 3 || len(got) > 5 {
		t.Fatalf("4 s of an unchanging scarred route published %d vectors after the first, want about 4 heartbeats", len(got)-1)
	}
	for _, v := range got[1:] {
		if v.Scar != got[0].Scar || !v.UpdatedAt.Equal(got[0].UpdatedAt) {
			t.Fatalf("a heartbeat %+v differs from the vector %+v it repeats", v, got[0])
		}
	}
}

// burstProvider pushes n peers' vectors at once when told to, faster than
// any engine applies them one by one.
type burstProvider struct {
	*atrion.InMemoryProvider
	fn chan func(atrion.PhysicsVector)
}

func (b *burstProvider) Subscribe(_ context.Context, fn func(atrion.PhysicsVector)) error {
	b.fn <- fn
	return nil
}

// TestPeerBurstNotDropped: 50,000 peers' vectors delivered in one burst
// are all applied; none is dropped.
func TestPeerBurstNotDropped(t *testing.T) {
	bp := &burstProvider{InMemoryProvider: atrion.NewInMemoryProvider(0), fn: make(chan func(atrion.PhysicsVector), 1)}
	const n = 50_000
	a, _ := atriontest.New(t, atrion.WithProvider(bp), atrion.WithMaxRoutes(100),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	fn := <-bp.fn
	for i := range 100 {
		a.ReportOutcome("r"+strconv.Itoa(i), atrion.Outcome{})
	}
	at := a.Now()
	for i := range n {
		fn(atrion.PhysicsVector{Route: "r" + strconv.Itoa(i%100), Scar: float64(i%7) + 1, Resistance: 20,
			Mode: atrion.ModeOperational, UpdatedAt: at.Add(-time.Duration(n-i) * time.Microsecond), NodeID: "peer"})
	}
	a.Flush(context.Background())
	st := a.Stats()
	if st.PeerDrops != 0 || st.PeerUpdates != n {
		t.Fatalf("peer updates %d, drops %d, want %d and 0", st.PeerUpdates, st.PeerDrops, n)
	}
}

// pagedProvider serves its stored vectors a page of 10 at a time
// (atrion.PageReader), failing once at one cursor; it records the cursors
// it was asked for.
type pagedProvider struct {
	*atrion.InMemoryProvider
	failAt  string
	mu      sync.Mutex
	cursors []string
	keys    int // Keys calls
}

func (p *pagedProvider) ReadPage(ctx context.Context, cursor string) ([]atrion.PhysicsVector, string, error) {
	p.mu.Lock()
	p.cursors = append(p.cursors, cursor)
	fail := cursor == p.failAt && p.failAt != ""
	if fail {
		p.failAt = ""
	}
	p.mu.Unlock()
	if fail {
		return nil, "", errors.New("page failed")
	}
	keys, _ := p.InMemoryProvider.Keys(ctx)
	slices.Sort(keys)
	start, _ := strconv.Atoi(cursor)
	end := min(start+10, len(keys))
	var vs []atrion.PhysicsVector
	for _, k := range keys[start:end] {
		if v, ok, _ := p.Get(ctx, k); ok {
			vs = append(vs, v)
		}
	}
	next := ""
	if end < len(keys) {
		next = strconv.Itoa(end)
	}
	return vs, next, nil
}

func (p *pagedProvider) Keys(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	p.keys++
	p.mu.Unlock()
	return p.InMemoryProvider.Keys(ctx)
}

// TestResyncPages: the periodic resync reads a PageReader's pages, never
// the whole key list; a page that fails is counted, and the next resync
// resumes at its cursor instead of starting over.
func TestResyncPages(t *testing.T) {
	pp := &pagedProvider{InMemoryProvider: atrion.NewInMemoryProvider(0), failAt: "30"}
	a, _ := atriontest.New(t, atrion.WithProvider(pp), atrion.WithResync(20*time.Millisecond), atrion.WithNodeID("me"),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	ctx := context.Background()
	for i := range 55 {
		id := "r" + strconv.Itoa(100+i)
		a.ReportOutcome(id, atrion.Outcome{})
		pp.Set(ctx, atrion.PhysicsVector{Route: id, Scar: 3, Resistance: 13, Mode: atrion.ModeOperational, UpdatedAt: a.Now(), NodeID: "peer"})
	}
	waitUntil(t, func() bool { return a.Stats().PeerUpdates >= 55 })
	pp.mu.Lock()
	cursors, keys := slices.Clone(pp.cursors), pp.keys
	pp.mu.Unlock()
	want := []string{"", "10", "20", "30", "30", "40", "50"}
	if len(cursors) < len(want) || !slices.Equal(cursors[:len(want)], want) {
		t.Fatalf("pages read at %q, want %q first", cursors, want)
	}
	if keys != 0 {
		t.Fatalf("Keys called %d times by a resync that can page", keys)
	}
	if a.Stats().ProviderErrors == 0 {
		t.Fatal("the failed page was not counted")
	}
}
