package atrredis_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

func TestNewRejectsBadOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t)})
	defer c.Close()
	if _, err := atrredis.New(nil); err == nil || !strings.Contains(err.Error(), "client") {
		t.Errorf("nil client: %v", err)
	}
	for field, opt := range map[string]atrredis.Option{
		"WithKeyPrefix": atrredis.WithKeyPrefix(""),
		"WithChannel":   atrredis.WithChannel(""),
		"WithTTL":       atrredis.WithTTL(0),
		"WithTimeout":   atrredis.WithTimeout(-time.Second),
		"WithMerge":     atrredis.WithMerge(nil),
	} {
		if _, err := atrredis.New(c, opt); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v does not name the field", field, err)
		}
	}
	if _, err := atrredis.New(c, atrredis.WithTimeout(time.Hour)); err == nil {
		t.Error("a one-hour timeout was accepted")
	}
	if _, err := atrredis.New(c, nil, atrredis.WithTTL(time.Second)); err != nil {
		t.Errorf("nil option: %v", err)
	}
}

func TestSetBatchIsOnePipeline(t *testing.T) {
	srv := redistest.Start(t)
	c, log := loggedClient(t, srv)
	p := newProvider(t, c, atrredis.WithTTL(30*time.Second))
	peer := subscribe(t, newProvider(t, srv.Client()))
	self := subscribe(t, p)
	log.reset()

	routes := []string{"GET /a", "POST /b c:d", "x\xff\xfe"} // spaces, colons, not UTF-8
	vs := make([]atrion.PhysicsVector, len(routes))
	for i, r := range routes {
		vs[i] = vector(r, float64(i))
	}
	if err := p.SetBatch(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	single, pipes := log.snapshot()
	want := []string{"set", "set", "set", "publish"}
	if len(single) != 0 || len(pipes) != 1 || !slices.Equal(pipes[0], want) {
		t.Fatalf("commands: alone %v, pipelines %v; want one pipeline %v", single, pipes, want)
	}
	for i, r := range routes {
		ttl, err := c.PTTL(context.Background(), "atrion:state:"+r).Result()
		if err != nil || ttl <= 0 || ttl > 30*time.Second {
			t.Errorf("%q: TTL %v, %v", r, ttl, err)
		}
		got, ok, err := p.Get(context.Background(), r)
		if err != nil || !ok || got.Route != r || got.Scar != vs[i].Scar || got.Mode != vs[i].Mode ||
			!got.UpdatedAt.Equal(vs[i].UpdatedAt) || got.NodeID != "node-x" || got.Tick != 7 {
			t.Errorf("Get(%q) = %+v, %v, %v; want %+v", r, got, ok, err, vs[i])
		}
	}
	waitFor(t, 2*time.Second, "peer delivery", func() bool { return len(peer.all()) == len(routes) })
	for _, r := range routes {
		if !peer.has(r) {
			t.Errorf("peer did not receive %q", r)
		}
	}
	if s := p.Stats(); s.Batches != 1 || s.Published != 3 {
		t.Errorf("stats %+v", s)
	}
	// a provider skips its own messages; the peer's arrived, so they were sent
	if got := self.all(); len(got) != 0 {
		t.Errorf("own messages delivered: %v", got)
	}
}

func TestSetSkipsInvalidVectors(t *testing.T) {
	srv := redistest.Start(t)
	p := newProvider(t, srv.Client())
	bad := vector("r", -1)
	err := p.SetBatch(context.Background(), []atrion.PhysicsVector{bad, vector("ok", 1)})
	if err == nil {
		t.Fatal("an invalid vector was accepted without error")
	}
	if _, ok, _ := p.Get(context.Background(), "ok"); !ok {
		t.Error("the valid vector beside it was not written")
	}
	if _, ok, _ := p.Get(context.Background(), "r"); ok {
		t.Error("the invalid vector was written")
	}
	if err := p.Set(context.Background(), atrion.PhysicsVector{}); err == nil {
		t.Error("Set of a zero vector succeeded")
	}
}

func TestKeysScansOwnPrefixOnly(t *testing.T) {
	srv := redistest.Start(t)
	c, log := loggedClient(t, srv)
	prefix := "app[1]*?:\\" // glob characters must match only themselves
	p := newProvider(t, c, atrredis.WithKeyPrefix(prefix))
	other := newProvider(t, c, atrredis.WithKeyPrefix("app1x:"))
	ctx := context.Background()
	var want []string
	for i := range 1200 { // more than one SCAN page
		r := "GET /r/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ":" + strconv.Itoa(i)
		want = append(want, r)
	}
	vs := make([]atrion.PhysicsVector, len(want))
	for i, r := range want {
		vs[i] = vector(r, 1)
	}
	if err := p.SetBatch(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if err := other.Set(ctx, vector("GET /other", 1)); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "unrelated", "x", 0)
	log.reset()
	keys, err := p.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("Keys returned %d keys, want %d", len(keys), len(want))
	}
	single, _ := log.snapshot()
	if slices.Contains(single, "keys") || !slices.Contains(single, "scan") {
		t.Errorf("Keys sent %v; want SCAN, never KEYS", single)
	}
	log.reset()
	if got := readAll(t, p); !slices.Equal(got, want) {
		t.Fatalf("a ReadPage pass read %d routes, want %d", len(got), len(want))
	}
	single, _ = log.snapshot()
	if !slices.Contains(single, "mget") || slices.Contains(single, "get") || slices.Contains(single, "keys") {
		t.Errorf("ReadPage sent %v; want SCAN and MGET", single)
	}
	if err := p.Delete(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := p.Get(ctx, want[0]); ok || err != nil {
		t.Errorf("after Delete: ok %v, err %v", ok, err)
	}
	if got, _ := other.Keys(ctx); !slices.Equal(got, []string{"GET /other"}) {
		t.Errorf("other prefix sees %v", got)
	}
}

// readAll reads every stored vector with ReadPage, page after page, and
// returns the routes read, sorted, each once.
func readAll(t *testing.T, p *atrredis.Provider) []string {
	t.Helper()
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			t.Fatal("ReadPage never ended its pass")
		}
		vs, next, err := p.ReadPage(context.Background(), cursor)
		if err != nil {
			t.Fatalf("ReadPage(%q): %v", cursor, err)
		}
		for _, v := range vs {
			seen[v.Route] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	routes := slices.Collect(maps.Keys(seen))
	slices.Sort(routes)
	return routes
}

// TestKeysAndPagesAtScale: Keys and a ReadPage pass each return all of
// 200,000 keys under the default 250 ms timeout, which one SCAN of them
// all in one call overran; the pass is resumed from its first page's
// cursor, as after an error. (BenchmarkKeysAndPages does the same at
// 1,000,000.)
func TestKeysAndPagesAtScale(t *testing.T) {
	const n = 200_000
	srv := redistest.Start(t)
	p := newProvider(t, srv.Client())
	want := fill(t, srv.Client(), atrredis.DefaultKeyPrefix, n)
	keys, err := p.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("Keys returned %d keys, want %d", len(keys), n)
	}
	first, cursor, err := p.ReadPage(context.Background(), "")
	if err != nil || cursor == "" || len(first) == 0 {
		t.Fatalf("first page: %d vectors, cursor %q, %v", len(first), cursor, err)
	}
	seen := map[string]bool{}
	for _, v := range first {
		seen[v.Route] = true
	}
	for pages := 0; cursor != ""; pages++ {
		if pages > n {
			t.Fatal("ReadPage never ended its pass")
		}
		vs, next, err := p.ReadPage(context.Background(), cursor)
		if err != nil {
			t.Fatalf("ReadPage(%q): %v", cursor, err)
		}
		for _, v := range vs {
			seen[v.Route] = true
		}
		cursor = next
	}
	if len(seen) != n {
		t.Fatalf("a ReadPage pass resumed after its first page read %d routes, want %d", len(seen), n)
	}
}

// fill stores n vectors under prefix straight through c (MSET, no
// provider deadline) and returns their routes sorted.
func fill(tb testing.TB, c *redis.Client, prefix string, n int) []string {
	tb.Helper()
	routes := make([]string, 0, n)
	pairs := make([]any, 0, 2*10_000)
	ctx := context.Background()
	for i := range n {
		r := "GET /items/" + strconv.Itoa(i)
		routes = append(routes, r)
		b, err := atrredis.EncodeVectorForTest(vector(r, 1))
		if err != nil {
			tb.Fatal(err)
		}
		pairs = append(pairs, prefix+r, b)
		if len(pairs) == cap(pairs) || i == n-1 {
			if err := c.MSet(ctx, pairs...).Err(); err != nil {
				tb.Fatal(err)
			}
			pairs = pairs[:0]
		}
	}
	slices.Sort(routes)
	return routes
}

func TestTTLExpiry(t *testing.T) {
	srv := redistest.Start(t)
	p := newProvider(t, srv.Client(), atrredis.WithTTL(150*time.Millisecond))
	ctx := context.Background()
	if err := p.Set(ctx, vector("GET /short", 3)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.Get(ctx, "GET /short"); !ok {
		t.Fatal("not stored")
	}
	waitFor(t, 3*time.Second, "expiry", func() bool {
		_, ok, err := p.Get(ctx, "GET /short")
		return !ok && err == nil
	})
	if keys, err := p.Keys(ctx); err != nil || len(keys) != 0 {
		t.Errorf("after expiry Keys = %v, %v", keys, err)
	}
}

func TestGarbageIgnoredAndCounted(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	p := newProvider(t, c)
	got := subscribe(t, p)
	ctx := context.Background()
	good := `{"v":1,"route":"GET /good","scar":2,"momentum":0,"r":12,"mode":"OPERATIONAL","tick":1,"at":1,"node":"n"}`
	garbage := []string{
		"", "not json", "{", "[]", "null", strings.Repeat("[", 100000), "\xff\xfe",
		`{"v":2,"prefix":"atrion:state:","vectors":[` + good + `]}`, // unknown version
		`{"v":1,"prefix":"atrion:state:","vectors":{}}`,
		`{"v":1,"prefix":"atrion:state:","vectors":[` + good + `]} trailing`,
	}
	for _, m := range garbage {
		if err := c.Publish(ctx, atrredis.DefaultChannel, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	badVectors := []string{
		`{"v":1,"route":"","scar":1,"r":11,"mode":"OPERATIONAL","at":1}`,           // no route
		`{"v":1,"route":"x","scar":-1,"r":11,"mode":"OPERATIONAL","at":1}`,         // negative scar
		`{"v":1,"route":"x","scar":1,"r":11,"mode":"HALF_OPEN","at":1}`,            // unknown mode
		`{"v":9,"route":"x","scar":1,"r":11,"mode":"OPERATIONAL","at":1}`,          // version
		`{"v":1,"route":"x","scar":1e999,"r":11,"mode":"OPERATIONAL","at":1}`,      // overflow
		`{"v":1,"route":{"b64":"!!"},"scar":1,"r":11,"mode":"OPERATIONAL","at":1}`, // bad base64
		`{"v":1,"route":"` + strings.Repeat("r", atrion.MaxRouteIDLen+1) + `","scar":1,"r":11,"mode":"OPERATIONAL","at":1}`,
		`"just a string"`,
	}
	mixed := `{"v":1,"prefix":"atrion:state:","vectors":[` + strings.Join(badVectors, ",") + `,` + good + `]}`
	if err := c.Publish(ctx, atrredis.DefaultChannel, mixed).Err(); err != nil {
		t.Fatal(err)
	}
	// after the garbage, the subscription still delivers the good vector
	waitFor(t, 2*time.Second, "good vector", func() bool { return got.has("GET /good") })
	s := p.Stats()
	if want := uint64(len(garbage) + len(badVectors)); s.Garbage != want {
		t.Errorf("garbage counted %d, want %d", s.Garbage, want)
	}
	if n := len(got.all()); n != 1 || s.Received != 1 {
		t.Errorf("delivered %d vectors (%d counted), want only the good one", n, s.Received)
	}

	// garbage under a key: absent, counted, no error (a resync goes on)
	before := p.Stats().Garbage
	c.Set(ctx, "atrion:state:GET /bad", "garbage", 0)
	c.Set(ctx, "atrion:state:GET /moved", good, 0) // names another route
	for _, r := range []string{"GET /bad", "GET /moved"} {
		if _, ok, err := p.Get(ctx, r); ok || err != nil {
			t.Errorf("Get(%q) of garbage: ok %v, err %v", r, ok, err)
		}
	}
	if d := p.Stats().Garbage - before; d != 2 {
		t.Errorf("stored garbage counted %d, want 2", d)
	}
}

func TestPrefixesIsolateApplications(t *testing.T) {
	srv := redistest.Start(t)
	app1 := newProvider(t, srv.Client(), atrredis.WithKeyPrefix("app1:"))
	app1peer := newProvider(t, srv.Client(), atrredis.WithKeyPrefix("app1:"))
	app2 := newProvider(t, srv.Client(), atrredis.WithKeyPrefix("app2:"))
	got1, got2 := subscribe(t, app1peer), subscribe(t, app2)
	ctx := context.Background()
	if err := app1.Set(ctx, vector("GET /shared-name", 50)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "app1 peer", func() bool { return got1.has("GET /shared-name") })
	waitFor(t, 2*time.Second, "app2 to see app1's message", func() bool { return app2.Stats().Foreign == 1 })
	if len(got2.all()) != 0 {
		t.Errorf("app2 received app1's state: %v", got2.all())
	}
	if keys, _ := app2.Keys(ctx); len(keys) != 0 {
		t.Errorf("app2 lists app1's keys: %v", keys)
	}
	if _, ok, _ := app2.Get(ctx, "GET /shared-name"); ok {
		t.Error("app2 reads app1's key")
	}
}

func TestRedisDownFailsFast(t *testing.T) {
	c := redis.NewClient(redistest.Options(deadAddr(t)))
	defer c.Close()
	var logged countHandler
	p := newProvider(t, c, atrredis.WithTimeout(100*time.Millisecond), atrredis.WithLogger(slog.New(&logged)))
	ctx := context.Background()
	if err := p.Subscribe(ctx, func(atrion.PhysicsVector) {}); err != nil {
		t.Fatalf("Subscribe with Redis down: %v", err)
	}
	if err := p.Set(ctx, vector("r", 1)); err == nil {
		t.Error("Set succeeded with Redis down")
	}
	if _, err := p.Keys(ctx); err == nil {
		t.Error("Keys succeeded with Redis down")
	}
	if _, _, err := p.Get(ctx, "r"); err == nil {
		t.Error("Get succeeded with Redis down")
	}
	waitFor(t, 2*time.Second, "subscription failures", func() bool { return p.Stats().Errors >= 6 })
	if n := logged.n.Load(); n != 1 {
		t.Errorf("%d log lines for %d errors; want one per 10 s", n, p.Stats().Errors)
	}
}

// TestSilentSubscriptionRedialled: a server that stops answering (paused)
// is pinged, dropped after unanswered pings and redialled once it answers.
func TestSilentSubscriptionRedialled(t *testing.T) {
	srv := redistest.Start(t)
	p := newProvider(t, srv.Client(), atrredis.WithHealthCheckForTest(30*time.Millisecond))
	got := subscribe(t, p)
	srv.Pause()
	waitFor(t, 3*time.Second, "the silent subscription to be dropped", func() bool { return p.Stats().Errors > 0 })
	srv.Resume()
	waitFor(t, 5*time.Second, "resubscription", func() bool { return p.Stats().Reconnects > 0 })
	if err := newProvider(t, srv.Client()).Set(context.Background(), vector("GET /after", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "delivery after the pause", func() bool { return got.has("GET /after") })
}

// countHandler is a slog.Handler that counts records.
type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func TestHungRedisBoundedByTimeout(t *testing.T) {
	srv := redistest.Start(t)
	// a client with go-redis's default 3 s read timeout that ignores contexts
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer c.Close()
	p := newProvider(t, c, atrredis.WithTimeout(50*time.Millisecond))
	ctx := context.Background()
	if err := p.Set(ctx, vector("r", 1)); err != nil { // connect while healthy
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	var errs []error
	for range 6 {
		start := time.Now()
		err := p.Set(ctx, vector("r", 2))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Set against a hung server took %v", d)
		}
		errs = append(errs, err)
	}
	var busy int
	for _, err := range errs {
		if err == nil {
			t.Fatal("Set against a hung server succeeded")
		}
		if errors.Is(err, atrredis.ErrBusy) {
			busy++
		}
	}
	if busy == 0 {
		t.Errorf("calls piled up without ErrBusy: %v", errs)
	}
	if s := p.Stats(); s.Errors != 6 {
		t.Errorf("errors counted %d, want 6", s.Errors)
	}
	srv.Resume()
	waitFor(t, 5*time.Second, "recovery after resume", func() bool { return p.Set(ctx, vector("r", 3)) == nil })
}

func TestSubscriptionResyncsAfterRestart(t *testing.T) {
	srv := redistest.Start(t, "--dbfilename", "state.rdb")
	c := srv.Client()
	p := newProvider(t, c)
	got := subscribe(t, p)
	ctx := context.Background()
	// written while p was not listening (no PUBLISH): only a resync finds it
	b, _ := atrredis.EncodeVectorForTest(vector("GET /written-offline", 42))
	if err := c.Set(ctx, "atrion:state:GET /written-offline", b, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	waitFor(t, 3*time.Second, "lost subscription", func() bool { return p.Stats().Errors > 0 })
	if got.has("GET /written-offline") {
		t.Fatal("delivered before any resync")
	}
	srv.Restart()
	waitFor(t, 5*time.Second, "resync after restart", func() bool { return got.has("GET /written-offline") })
	if s := p.Stats(); s.Reconnects < 1 || s.Resyncs < 2 {
		t.Errorf("stats after restart %+v", s)
	}
}

func TestMergePolicy(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t)})
	defer c.Close()
	local, remote := vector("r", 10), vector("r", 40)
	remote.UpdatedAt = local.UpdatedAt.Add(-time.Second) // older but more scarred
	for _, tc := range []struct {
		name string
		opts []atrredis.Option
		want float64
	}{
		{"default last-writer-wins", nil, 10},
		{"max scar", []atrredis.Option{atrredis.WithMerge(atrion.MergeMaxScar)}, 40},
		{"gamma", []atrredis.Option{atrredis.WithMerge(atrion.MergeGamma(atrredis.DefaultGamma))}, 0.3*40 + 0.7*10},
	} {
		p := newProvider(t, c, tc.opts...)
		if got := p.Merge(local, remote).Scar; got != tc.want {
			t.Errorf("%s: scar %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSubscribeArguments(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: deadAddr(t)})
	defer c.Close()
	p, err := atrredis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Subscribe(context.Background(), nil); err == nil {
		t.Error("nil fn accepted")
	}
	if err := p.Subscribe(context.Background(), func(atrion.PhysicsVector) {}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not stop the subscription")
	}
	if err := p.Subscribe(context.Background(), func(atrion.PhysicsVector) {}); err == nil {
		t.Error("Subscribe after Close accepted")
	}
}
