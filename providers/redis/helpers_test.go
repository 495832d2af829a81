package atrredis_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// newProvider returns a provider on c, closed when the test ends.
func newProvider(t testing.TB, c redis.UniversalClient, opts ...atrredis.Option) *atrredis.Provider {
	t.Helper()
	p, err := atrredis.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// collector gathers the vectors a subscription delivers.
type collector struct {
	mu sync.Mutex
	vs []atrion.PhysicsVector
}

func (c *collector) add(v atrion.PhysicsVector) {
	c.mu.Lock()
	c.vs = append(c.vs, v)
	c.mu.Unlock()
}

func (c *collector) all() []atrion.PhysicsVector {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.vs)
}

func (c *collector) has(route string) bool {
	return slices.ContainsFunc(c.all(), func(v atrion.PhysicsVector) bool { return v.Route == route })
}

// subscribe starts a subscription into a new collector and waits until it
// has resynced once (so it is listening).
func subscribe(t *testing.T, p *atrredis.Provider) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := p.Subscribe(ctx, c.add); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "subscription", func() bool { return p.Stats().Resyncs > 0 })
	return c
}

// waitFor polls cond every 10 ms until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func vector(route string, scar float64) atrion.PhysicsVector {
	return atrion.PhysicsVector{
		Route: route, Scar: scar, Resistance: 10 + scar, Mode: atrion.ModeOperational,
		Tick: 7, UpdatedAt: time.Unix(1700000000, 123456789), NodeID: "node-x",
	}
}

// cmdLog records the commands and pipelines a client sends.
type cmdLog struct {
	mu        sync.Mutex
	single    []string   // commands sent alone
	pipelines [][]string // commands of each pipeline
}

func (l *cmdLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *cmdLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd.Name()) {
			l.mu.Lock()
			l.single = append(l.single, cmd.Name())
			l.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (l *cmdLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var names []string
		for _, c := range cmds {
			if !handshake(c.Name()) {
				names = append(names, c.Name())
			}
		}
		if len(names) > 0 {
			l.mu.Lock()
			l.pipelines = append(l.pipelines, names)
			l.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

// handshake reports the commands go-redis sends on each new connection.
func handshake(name string) bool { return name == "hello" || name == "client" || name == "auth" }

func (l *cmdLog) reset() {
	l.mu.Lock()
	l.single, l.pipelines = nil, nil
	l.mu.Unlock()
}

func (l *cmdLog) snapshot() ([]string, [][]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.single), slices.Clone(l.pipelines)
}

// loggedClient is a short-timeout client on srv that records its commands.
func loggedClient(t *testing.T, srv *redistest.Server) (*redis.Client, *cmdLog) {
	c := srv.Client()
	l := &cmdLog{}
	c.AddHook(l)
	return c, l
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
