package redisbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// clusterNodes is how many engines share one redis-server.
const clusterNodes = 3

// clusterWindow is how long each configuration is measured
// (REDISBENCH_WINDOW overrides it, e.g. 3s): the default covers one
// periodic resync (every 10 s) per node.
func clusterWindow(b *testing.B) time.Duration {
	if s := os.Getenv("REDISBENCH_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("REDISBENCH_WINDOW: %v", err)
		}
		return d
	}
	return 10 * time.Second
}

// BenchmarkCluster (issue 21): three engines with distinct node IDs, each
// with its own client and atrredis provider on one redis-server, serve
// 10, 1,000 and 10,000 routes each, every route once per tick on every
// node, in real time; "healthy" is that traffic, "trip" the same while
// node 0's first min(routes, 100) routes fail from the start of the
// window (they trip and stay open). Engine settings are the defaults
// (100 ms tick, 10 s resync, 1 min TTL), bootstrap skipped. Run it with
// -benchtime 1x: one op is one window. It reports, per second of the
// window:
//   - redis-cmds/s: commands Redis executed (INFO commandstats, INFO excluded)
//   - redis-in-B/s, redis-out-B/s: bytes into and out of Redis
//   - cpu/node: this process's CPU (user+sys) per node, as a share of one
//     core: the traffic driver, the engines and their sync
//   - sync-cpu/node: the same minus a run with a provider that does
//     nothing (every call returns at once), measured right after in the
//     same process: what syncing through Redis adds (the engine's own
//     batching is in both)
//   - redis-cpu: redis-server's CPU, as a share of one core
//   - peer-drops: peers' vectors the engines dropped
//   - open-on-node0 (trip): the failing routes open on node 0 at the end
func BenchmarkCluster(b *testing.B) {
	srv := redistest.Start(b)
	admin := srv.Client()
	window := clusterWindow(b)
	for _, routes := range []int{10, 1000, 10_000} {
		for _, trip := range []bool{false, true} {
			name := fmt.Sprintf("routes=%d/healthy", routes)
			if trip {
				name = fmt.Sprintf("routes=%d/trip", routes)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if err := admin.FlushAll(context.Background()).Err(); err != nil {
						b.Fatal(err)
					}
					m := runCluster(b, admin, srv.Addr, routes, trip, window, false)
					null := runCluster(b, admin, srv.Addr, routes, trip, window, true)
					sec := window.Seconds()
					b.ReportMetric(float64(m.cmds)/sec, "redis-cmds/s")
					b.ReportMetric(float64(m.in)/sec, "redis-in-B/s")
					b.ReportMetric(float64(m.out)/sec, "redis-out-B/s")
					b.ReportMetric(m.cpu.Seconds()/sec/clusterNodes, "cpu/node")
					b.ReportMetric((m.cpu-null.cpu).Seconds()/sec/clusterNodes, "sync-cpu/node")
					b.ReportMetric(m.redisCPU.Seconds()/sec, "redis-cpu")
					b.ReportMetric(float64(m.drops), "peer-drops")
					if trip {
						b.ReportMetric(float64(m.open), "open-on-node0")
					}
				}
			})
		}
	}
}

// clusterRun is what one window cost.
type clusterRun struct {
	cmds, in, out int64
	cpu, redisCPU time.Duration
	drops         uint64
	open          int // tripped routes open on node 0 at the end
}

// runCluster starts the nodes, lets every route be tracked and a tick
// pass, and measures one window of traffic. null gives each node a
// provider that does nothing instead of atrredis.
func runCluster(b *testing.B, admin *redis.Client, addr string, routes int, trip bool, window time.Duration, null bool) clusterRun {
	ids := make([]string, routes)
	for i := range ids {
		ids[i] = "GET /v1/items/" + strconv.Itoa(i)
	}
	tripped := min(routes, 100)
	nodes := make([]*atrion.Atrion, clusterNodes)
	var closers []func()
	for i := range nodes {
		var p atrion.StateProvider = nullProvider{}
		if !null {
			c := redis.NewClient(redistest.Options(addr))
			rp, err := atrredis.New(c)
			if err != nil {
				b.Fatal(err)
			}
			closers = append(closers, func() { _ = rp.Close(); _ = c.Close() })
			p = rp
		}
		nodes[i] = atriontest.NewEngine(b, atrion.WithNodeID("node-"+strconv.Itoa(i)), atrion.WithProvider(p),
			atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	}
	fail := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, a := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive(ctx, a, ids, i == 0 && trip, tripped, fail)
		}()
	}
	time.Sleep(2 * nodes[0].Tick()) // every route tracked everywhere, a tick closed
	for _, a := range nodes {
		_ = a.Flush(context.Background())
	}
	cmds0, in0, out0 := commands(b, admin), netBytes(b, admin, "total_net_input_bytes"), netBytes(b, admin, "total_net_output_bytes")
	rcpu0, cpu0 := redisCPU(b, admin), processCPU()
	close(fail)
	time.Sleep(window)
	cpu := processCPU() - cpu0
	run := clusterRun{
		cmds: commands(b, admin) - cmds0, in: netBytes(b, admin, "total_net_input_bytes") - in0,
		out: netBytes(b, admin, "total_net_output_bytes") - out0, cpu: cpu, redisCPU: redisCPU(b, admin) - rcpu0,
	}
	stop()
	wg.Wait()
	for _, a := range nodes {
		run.drops += a.Stats().PeerDrops
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.Close(ctx)
		cancel()
	}
	for _, c := range closers {
		c()
	}
	if trip {
		for _, id := range ids[:tripped] {
			if s, ok := nodes[0].Snapshot(id); ok && s.Mode == atrion.ModeCircuitOpen {
				run.open++
			}
		}
	}
	return run
}

// drive serves every route once per tick, spread over the tick in
// chunks, until ctx ends; once fail is closed, the first tripped routes
// fail when failRoutes is set.
func drive(ctx context.Context, a *atrion.Atrion, ids []string, failRoutes bool, tripped int, fail chan struct{}) {
	const chunks = 20
	tick := a.Tick()
	failNow := false
	next := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case <-fail:
			failNow = failRoutes
		default:
		}
		c := i % chunks
		lo, hi := c*len(ids)/chunks, (c+1)*len(ids)/chunks
		for j := lo; j < hi; j++ {
			o := atrion.Success
			if failNow && j < tripped {
				o = atrion.Failure
			}
			t, d := a.Admit(ids[j], atrion.PriorityNormal)
			if d.Allowed {
				t.Done(o)
			}
		}
		next = next.Add(tick / chunks)
		time.Sleep(time.Until(next))
	}
}

// nullProvider stores nothing and answers at once.
type nullProvider struct{}

func (nullProvider) Get(context.Context, string) (atrion.PhysicsVector, bool, error) {
	return atrion.PhysicsVector{}, false, nil
}
func (nullProvider) Set(context.Context, atrion.PhysicsVector) error        { return nil }
func (nullProvider) SetBatch(context.Context, []atrion.PhysicsVector) error { return nil }
func (nullProvider) Delete(context.Context, string) error                   { return nil }
func (nullProvider) Keys(context.Context) ([]string, error)                 { return nil, nil }

// processCPU is this process's CPU time so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// info returns field of INFO section as a string.
func info(b *testing.B, c *redis.Client, section, field string) string {
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	b.Fatalf("INFO %s has no %s", section, field)
	return ""
}

func netBytes(b *testing.B, c *redis.Client, field string) int64 {
	n, err := strconv.ParseInt(info(b, c, "stats", field), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// redisCPU is redis-server's CPU time so far (INFO cpu), user and system.
func redisCPU(b *testing.B, c *redis.Client) time.Duration {
	var total float64
	for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(info(b, c, "cpu", f), 64)
		if err != nil {
			b.Fatal(err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second))
}
