package atrredis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// These tests play an attacker who can PUBLISH on the sync channel (or a
// peer whose clock runs ahead, or a buggy version): each sends well-formed
// vectors and checks what the honest nodes do with them.

// published is one vector an honest node announced on the channel.
type published struct {
	node string
	scar float64
	at   time.Time
	mode string
}

// wire is what the tests read of a channel message.
type wire struct {
	Vectors []struct {
		Route string  `json:"route"`
		Scar  float64 `json:"scar"`
		Mode  string  `json:"mode"`
		At    int64   `json:"at"`
		Node  string  `json:"node"`
	} `json:"vectors"`
}

// watchChannel records every vector the named nodes announce for route.
func watchChannel(t *testing.T, c *redis.Client, route string, nodes ...string) func() []published {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps := c.Subscribe(ctx, atrredis.DefaultChannel)
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []published
	done := make(chan struct{})
	t.Cleanup(func() { _ = ps.Close(); <-done })
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			var w wire
			if json.Unmarshal([]byte(m.Payload), &w) != nil {
				continue
			}
			for _, v := range w.Vectors {
				for _, n := range nodes {
					if v.Node == n && v.Route == route {
						mu.Lock()
						got = append(got, published{node: v.Node, scar: v.Scar, at: time.Unix(0, v.At), mode: v.Mode})
						mu.Unlock()
					}
				}
			}
		}
	}()
	return func() []published {
		mu.Lock()
		defer mu.Unlock()
		return append([]published(nil), got...)
	}
}

// poison publishes one vector on the channel as a node of its own would.
func poison(t *testing.T, c *redis.Client, route string, scar float64, mode atrion.Mode, at time.Time) {
	t.Helper()
	msg := fmt.Sprintf(`{"v":1,"prefix":"atrion:state:","src":"mallory","vectors":[{"v":1,"route":%q,"scar":%g,"momentum":0,"r":%g,"mode":%q,"tick":1,"at":%d,"node":"mallory"}]}`,
		route, scar, 10+scar, mode.String(), at.UnixNano())
	if err := c.Publish(context.Background(), atrredis.DefaultChannel, msg).Err(); err != nil {
		t.Fatal(err)
	}
}

// serve sends n healthy calls of priority p on route to every node, 2 ms
// apart, and returns how many were admitted. The first node admits with
// tickets; the others report through the v1 API (CanAccept and
// ReportOutcome), whose telemetry an open circuit does not clamp.
func serve(nodes []node, route string, p atrion.Priority, n int) (admitted, total int) {
	for range n {
		for i, nd := range nodes {
			total++
			if i > 0 {
				if nd.a.CanAccept(route) {
					admitted++
					nd.a.ReportOutcome(route, healthy)
				}
				continue
			}
			tk, d := nd.a.Admit(route, p)
			if d.Allowed {
				admitted++
				tk.Done(atrion.Success)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return admitted, total
}

// healTime is how long scar s takes to decay below the recovery point with
// the nodes' physics (λ = 0.1/s, recovery point 50, R_base 10).
func healTime(s float64) time.Duration {
	if s <= 40 {
		return 0
	}
	return time.Duration(math.Log(s/40) / 0.1 * float64(time.Second))
}

// TestPoisonedVectorRefused: one PUBLISH with scar 1e300 from the year
// 2100, and one from a peer whose clock runs an hour ahead, are refused:
// counted, never merged, never republished; every priority is still
// served.
func TestPoisonedVectorRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		scar float64
		at   func() time.Time
	}{
		{"scar 1e300 from the year 2100", 1e300, func() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"a plausible scar from a clock an hour ahead", 500, func() time.Time { return time.Now().Add(time.Hour) }},
		{"scar beyond the physical maximum, now", 1e6, time.Now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			a := newNode(t, srv.Addr, "a")
			b := newNode(t, srv.Addr, "b")
			const route = "GET /accounts/:id"
			nodes := []node{a, b}
			serve(nodes, route, atrion.PriorityNormal, 150) // a few healthy ticks on both
			seen := watchChannel(t, srv.Client(), route, "a", "b")

			poison(t, srv.Client(), route, tc.scar, atrion.ModeCircuitOpen, tc.at())
			admitted, total := serve(nodes, route, atrion.PriorityCritical, 250) // about 5 ticks
			for _, n := range nodes {
				s := n.snapshot(t, route)
				t.Logf("%s: critical admitted %d/%d, mode %v, scar %.3g (heals in %v), engine %+v",
					n.a.NodeID(), admitted, total, s.Mode, s.Scar, healTime(s.Scar), n.a.Stats())
				if s.Mode != atrion.ModeOperational || s.Scar > 1 {
					t.Errorf("%s took the poison: mode %v, scar %.3g", n.a.NodeID(), s.Mode, s.Scar)
				}
				if st := n.a.Stats(); st.RefusedPeerUpdates != 1 { // the honest peer's vectors merge
					t.Errorf("%s: refused %d peer updates, want 1", n.a.NodeID(), st.RefusedPeerUpdates)
				}
			}
			if admitted != total {
				t.Errorf("critical calls admitted: %d of %d", admitted, total)
			}
			for _, v := range seen() {
				if v.scar > 1 || v.at.After(time.Now()) {
					t.Errorf("%s republished scar %.3g at %v", v.node, v.scar, v.at)
					break
				}
			}
		})
	}
}

// TestAdoptedStateNotRepresentedAsFresh: a vector within every bound (the
// physical maximum of scar, an open circuit, the current time) is adopted,
// since it is indistinguishable from a peer's; but no honest node
// announces it again with a time later than the attacker's, so it wins no
// merge it did not win already, and the nodes heal within the time scar
// at that bound takes to decay.
func TestAdoptedStateNotRepresentedAsFresh(t *testing.T) {
	srv := redistest.Start(t)
	a := newNode(t, srv.Addr, "a")
	b := newNode(t, srv.Addr, "b")
	const route = "GET /accounts/:id"
	nodes := []node{a, b}
	serve(nodes, route, atrion.PriorityNormal, 150)
	seen := watchChannel(t, srv.Client(), route, "a", "b")

	// the nodes' physics: σ 20, λ 0.1/s, 100 ms ticks
	maxScar := 20 / (1 - math.Exp(-0.1*clusterTick.Seconds()))
	sent := time.Now()
	poison(t, srv.Client(), route, maxScar, atrion.ModeCircuitOpen, sent)
	waitFor(t, 2*time.Second, "the bounded vector to be adopted", func() bool {
		return a.a.Stats().PeerUpdates > 0 && b.a.Stats().PeerUpdates > 0
	})
	serve(nodes, route, atrion.PriorityCritical, 250)
	fresh := 0
	for _, v := range seen() {
		// neither node saw trouble itself: any scar it announces is adopted
		if v.scar > 1 && v.at.After(sent) {
			if fresh == 0 {
				t.Errorf("%s announced the adopted scar %.1f as its own evidence of %v (the attacker's is %v)",
					v.node, v.scar, v.at.Format(time.StampMicro), sent.Format(time.StampMicro))
			}
			fresh++
		}
	}
	t.Logf("vectors announced with the adopted scar and a later time: %d of %d", fresh, len(seen()))
}

// TestDefaultNodeIDsDiffer: two engines in one process with the default
// node ID are two nodes: a trip on one reaches the other.
func TestDefaultNodeIDsDiffer(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newNode(t, srv.Addr, ""), newNode(t, srv.Addr, "")
	if a.a.NodeID() == b.a.NodeID() {
		t.Errorf("two engines share the default node ID %q", a.a.NodeID())
	}
	const route = "POST /pay"
	start := time.Now()
	both := map[node]atrion.Outcome{a: healthy, b: healthy}
	drive(t, 5*time.Second, "healthy ticks", route, both, func() bool { return time.Since(start) > 3*clusterTick })
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && b.snapshot(t, route).Resistance < a.snapshot(t, route).BreakPoint/2 {
		a.a.ReportOutcome(route, failing)
		b.a.ReportOutcome(route, healthy)
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("b received %d vectors, merged %d; R on b %.1f",
		b.p.Stats().Received, b.a.Stats().PeerUpdates, b.snapshot(t, route).Resistance)
	if b.a.Stats().PeerUpdates == 0 {
		t.Errorf("b merged none of the %d vectors it received", b.p.Stats().Received)
	}
}
