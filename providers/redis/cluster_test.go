package atrredis_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// clusterTick is the real-time tick of the multi-node tests.
const clusterTick = 100 * time.Millisecond

// node is one engine with its Redis provider.
type node struct {
	a *atrion.Atrion
	p *atrredis.Provider
}

// newNode starts an engine on the system clock (the provider syncs in
// real time) that skips bootstrap and trips fast (scar factor 20: ~5
// failing ticks), sharing state through its own client to addr; an empty
// id keeps the engine's default node ID.
func newNode(t *testing.T, addr, id string, popts ...atrredis.Option) node {
	t.Helper()
	c := redis.NewClient(redistest.Options(addr))
	t.Cleanup(func() { _ = c.Close() })
	p := newProvider(t, c, popts...)
	a := atriontest.NewEngine(t,
		atrion.WithTick(clusterTick), atrion.WithNodeID(id), atrion.WithProvider(p),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, ScarFactor: 20}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithResync(time.Second),
	)
	return node{a, p}
}

func (n node) snapshot(t *testing.T, route string) atrion.RouteSnapshot {
	t.Helper()
	s, ok := n.a.Snapshot(route)
	if !ok {
		t.Fatalf("%s: route %q not tracked", n.a.NodeID(), route)
	}
	return s
}

var (
	healthy = atrion.Outcome{Latency: 10 * time.Millisecond}
	failing = atrion.Outcome{Latency: 50 * time.Millisecond, IsError: true}
)

// drive reports one outcome per node every 5 ms until done returns true,
// failing the test after limit.
func drive(t *testing.T, limit time.Duration, what string, route string, nodes map[node]atrion.Outcome, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		for n, o := range nodes {
			n.a.ReportOutcome(route, o)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClusterTripRaisesPeers: a route tripped on one node raises R on the
// others within two ticks, under each merge policy; another application on
// the same Redis with its own key prefix is untouched, and garbage on the
// channel changes nothing.
func TestClusterTripRaisesPeers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		merge func(local, remote atrion.PhysicsVector) atrion.PhysicsVector
		// busy peers keep serving healthy traffic while a fails; idle
		// peers served it before and wait
		busy bool
		rise float64 // a peer's R must reach this share of a's break point
	}{
		{"last-writer-wins (default), idle peers", nil, false, 0.5},
		{"max-scar, busy peers", atrion.MergeMaxScar, true, 0.5},
		{"gamma 0.3, idle peers", atrion.MergeGamma(atrredis.DefaultGamma), false, 0.2},
		{"last-writer-wins (default), busy peers", nil, true, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var popts []atrredis.Option
			if tc.merge != nil {
				popts = append(popts, atrredis.WithMerge(tc.merge))
			}
			srv := redistest.Start(t)
			a := newNode(t, srv.Addr, "a", popts...)
			b := newNode(t, srv.Addr, "b", popts...)
			c := newNode(t, srv.Addr, "c", popts...)
			other := newNode(t, srv.Addr, "other-app", append(popts, atrredis.WithKeyPrefix("other:state:"))...)
			const route = "GET /orders/:id"
			traffic := map[node]atrion.Outcome{a: healthy, b: healthy, c: healthy, other: healthy}
			// a few healthy ticks everywhere so that every node tracks the route
			start := time.Now()
			drive(t, 5*time.Second, "healthy ticks", route, traffic, func() bool { return time.Since(start) > 3*clusterTick })
			for _, n := range []node{a, b, c, other} {
				if s := n.snapshot(t, route); s.Resistance > 12 {
					t.Fatalf("%s starts with R %.2f", n.a.NodeID(), s.Resistance)
				}
			}
			rc := srv.Client()
			rc.Publish(context.Background(), atrredis.DefaultChannel, `{"v":1,"prefix":"atrion:state:","vectors":[{"v":1,"route":"GET /orders/:id","scar":1e300,"r":-5,"mode":"OPERATIONAL"}]}`)
			rc.Publish(context.Background(), atrredis.DefaultChannel, "\x00garbage")

			traffic[a] = failing
			if !tc.busy {
				traffic = map[node]atrion.Outcome{a: failing}
			}
			drive(t, 10*time.Second, "a to trip", route, traffic, func() bool {
				return a.snapshot(t, route).Mode == atrion.ModeCircuitOpen
			})
			tripped := time.Now()
			want := tc.rise * a.snapshot(t, route).BreakPoint
			for _, n := range []node{b, c} {
				drive(t, 2*clusterTick-time.Since(tripped), n.a.NodeID()+"'s R to rise", route, traffic, func() bool {
					return n.snapshot(t, route).Resistance >= want
				})
				if s := n.snapshot(t, route); s.Totals.Failures != 0 {
					t.Errorf("%s saw failures itself: %+v", n.a.NodeID(), s.Totals)
				}
				if st := n.a.Stats(); st.PeerUpdates == 0 {
					t.Errorf("%s merged no peer updates", n.a.NodeID())
				}
			}
			if s := other.snapshot(t, route); s.Resistance > 12 || s.Scar != 0 {
				t.Errorf("the other application caught R %.2f, scar %.2f", s.Resistance, s.Scar)
			}
			if st := other.a.Stats(); st.PeerUpdates != 0 {
				t.Errorf("the other application merged %d peer updates", st.PeerUpdates)
			}
			if st := other.p.Stats(); st.Foreign == 0 {
				t.Error("the other application saw no foreign messages")
			}
			for _, n := range []node{a, b, c} {
				if st := n.p.Stats(); st.Garbage != 2 {
					t.Errorf("%s counted %d garbage items, want 2", n.a.NodeID(), st.Garbage)
				}
			}
		})
	}
}

// TestClusterRedisOutage: Redis dies mid-run and comes back. No request
// waits, each node keeps its own state and decides on it, failures are
// counted, and once Redis is back a trip on one node reaches the other.
func TestClusterRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	// max-scar, so that a's own healthy ticks cannot hide b's trip (see
	// the skipped last-writer-wins case above)
	a := newNode(t, srv.Addr, "a", atrredis.WithMerge(atrion.MergeMaxScar))
	b := newNode(t, srv.Addr, "b", atrredis.WithMerge(atrion.MergeMaxScar))
	const route, local = "POST /pay", "GET /local-only"
	both := map[node]atrion.Outcome{a: healthy, b: healthy}
	start := time.Now()
	drive(t, 5*time.Second, "healthy ticks", route, both, func() bool { return time.Since(start) > 3*clusterTick })

	srv.Stop()
	// a route trips on b during the outage; requests keep flowing on both
	var slowest time.Duration
	var admitted int
	outage := time.Now()
	for time.Since(outage) < 15*clusterTick {
		for _, n := range []node{a, b} {
			t0 := time.Now()
			tk, d := n.a.Admit(route, atrion.PriorityNormal)
			if d.Allowed {
				tk.Done(atrion.Success)
				admitted++
			}
			slowest = max(slowest, time.Since(t0))
		}
		b.a.ReportOutcome(local, failing)
		time.Sleep(5 * time.Millisecond)
	}
	if slowest > clusterTick {
		t.Errorf("a request waited %v during the outage", slowest)
	}
	if s := b.snapshot(t, local); s.Mode != atrion.ModeCircuitOpen {
		t.Errorf("local trip during the outage: mode %v, R %.2f", s.Mode, s.Resistance)
	}
	for _, n := range []node{a, b} {
		s := n.snapshot(t, route)
		if s.Mode != atrion.ModeOperational || s.Totals.Rejected != (atrion.Rejections{}) {
			t.Errorf("%s decided differently during the outage: %v, %+v", n.a.NodeID(), s.Mode, s.Totals)
		}
		if n.a.Stats().ProviderErrors == 0 || n.p.Stats().Errors == 0 {
			t.Errorf("%s counted no errors: engine %+v, provider %+v", n.a.NodeID(), n.a.Stats(), n.p.Stats())
		}
	}

	srv.Restart()
	waitFor(t, 5*time.Second, "resubscription", func() bool {
		return a.p.Stats().Reconnects > 0 && b.p.Stats().Reconnects > 0
	})
	// b's tripped route reaches a once a tracks it
	a.a.ReportOutcome(local, healthy)
	drive(t, 3*time.Second, "b's trip to reach a", local, map[node]atrion.Outcome{a: healthy, b: failing}, func() bool {
		return a.snapshot(t, local).Resistance >= b.snapshot(t, local).BreakPoint/2
	})
}

// TestClusterTripReachesEveryPeer (issue 21): three nodes serve n routes;
// n of them trip on node a. Within the bound after they are all open on
// a, every route's R on both peers is at least half a's break point, and
// no node dropped a peer's vector. Peers keep serving healthy traffic
// (busy), under max-scar, so their own healthy ticks do not hide a's.
func TestClusterTripReachesEveryPeer(t *testing.T) {
	for _, tc := range []struct {
		routes int
		within time.Duration
	}{{100, time.Second}, {1000, 2 * time.Second}} {
		t.Run(strconv.Itoa(tc.routes), func(t *testing.T) {
			srv := redistest.Start(t)
			merge := atrredis.WithMerge(atrion.MergeMaxScar)
			a, b, c := newNode(t, srv.Addr, "a", merge), newNode(t, srv.Addr, "b", merge), newNode(t, srv.Addr, "c", merge)
			routes := make([]string, tc.routes)
			for i := range routes {
				routes[i] = "GET /trip/" + strconv.Itoa(i)
			}
			var failA atomic.Bool
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, n := range []node{a, b, c} {
				wg.Add(1)
				go func() { // each route once every 10 ms on each node
					defer wg.Done()
					for end := time.Now().Add(30 * time.Second); ctx.Err() == nil && time.Now().Before(end); {
						o := healthy
						if n == a && failA.Load() {
							o = failing
						}
						for _, r := range routes {
							n.a.ReportOutcome(r, o)
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			defer func() { stop(); wg.Wait() }()
			time.Sleep(3 * clusterTick) // every node tracks every route
			failA.Store(true)
			// each route's first poll with R at half a's break point, on a
			// and on each peer; the lag is how long the peers took after a
			want := 0.5 * a.snapshot(t, routes[0]).BreakPoint
			nodes := []node{a, b, c}
			crossed := make([][]time.Time, len(nodes))
			for i := range crossed {
				crossed[i] = make([]time.Time, len(routes))
			}
			open, left := 0, len(nodes)*len(routes)
			for deadline := time.Now().Add(15 * time.Second); left > 0 || open < len(routes); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after 15 s: %d routes open on a, %d crossings to go", open, left)
				}
				now := time.Now()
				open = 0
				for i, n := range nodes {
					for j, r := range routes {
						s := n.snapshot(t, r)
						if i == 0 && s.Mode == atrion.ModeCircuitOpen {
							open++
						}
						if crossed[i][j].IsZero() && s.Resistance >= want {
							crossed[i][j] = now
							left--
						}
					}
				}
			}
			var lag time.Duration
			for i := 1; i < len(nodes); i++ {
				for j := range routes {
					lag = max(lag, crossed[i][j].Sub(crossed[0][j]))
				}
			}
			t.Logf("%d routes: the slowest peer's R reached half the break point %v after a's (polled every 5 ms)", tc.routes, lag.Round(time.Millisecond))
			if lag > tc.within {
				t.Errorf("a peer took %v after a, want at most %v", lag, tc.within)
			}
			for _, n := range []node{a, b, c} {
				if st := n.a.Stats(); st.PeerDrops != 0 {
					t.Errorf("%s dropped %d peer vectors", n.a.NodeID(), st.PeerDrops)
				}
			}
		})
	}
}
