package redisbench

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// setup is one measured configuration: an engine on rig's settings with
// the in-memory provider or with atrredis on a server started on first use.
type setup struct {
	name string
	opts func(b *testing.B, srv func() *redistest.Server) []atrion.Option
}

var setups = []setup{
	{"memory", func(*testing.B, func() *redistest.Server) []atrion.Option { return nil }},
	{"redis", func(b *testing.B, srv func() *redistest.Server) []atrion.Option {
		return []atrion.Option{atrion.WithProvider(newProvider(b, srv().Client()))}
	}},
}

func newProvider(b *testing.B, c *redis.Client) *atrredis.Provider {
	p, err := atrredis.New(c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	return p
}

// forEachSetup runs bench once per setup, on an engine with one busy route
// (rig.Engine); the setups share one redis-server.
func forEachSetup(b *testing.B, bench func(b *testing.B, a *atrion.Atrion, route string)) {
	var srv *redistest.Server
	server := func() *redistest.Server {
		if srv == nil {
			srv = redistest.Start(b)
		}
		return srv
	}
	ids := rig.RouteIDs(1)
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			bench(b, rig.Engine(b, ids, s.opts(b, server)...), ids[0])
		})
	}
}

// BenchmarkAdmitDone compares the hot path with and without Redis.
func BenchmarkAdmitDone(b *testing.B) {
	forEachSetup(b, func(b *testing.B, a *atrion.Atrion, route string) {
		b.ReportAllocs()
		var rejects int
		for b.Loop() {
			if !rig.AdmitDone(a, route) {
				rejects++
			}
		}
		b.ReportMetric(float64(rejects)/float64(b.N), "rejects/op")
	})
}

// BenchmarkAdmitDoneParallel is BenchmarkAdmitDone from GOMAXPROCS
// goroutines sharing the engine.
func BenchmarkAdmitDoneParallel(b *testing.B) {
	forEachSetup(b, func(b *testing.B, a *atrion.Atrion, route string) {
		var rejects atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var n int64
			for pb.Next() {
				if !rig.AdmitDone(a, route) {
					n++
				}
			}
			rejects.Add(n)
		})
		b.ReportMetric(float64(rejects.Load())/float64(b.N), "rejects/op")
	})
}

// BenchmarkRedisCommands measures the Redis load at two request rates.
func BenchmarkRedisCommands(b *testing.B) {
	srv := redistest.Start(b)
	admin := srv.Client()
	for _, rps := range []float64{10, 10_000} {
		b.Run("rps="+strconv.FormatFloat(rps, 'f', -1, 64), func(b *testing.B) {
			p := newProvider(b, srv.Client())
			const route = "GET /v1/items/:id"
			a := rig.Engine(b, []string{route}, atrion.WithProvider(p))
			tick := a.Tick()
			if err := a.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			before, batches := commands(b, admin), p.Stats().Batches
			start := time.Now()
			sent := 0
			for i := 0; b.Loop(); i++ {
				// one op: one tick of traffic at rps, paced every millisecond
				end := start.Add(time.Duration(i+1) * tick)
				for now := time.Now(); now.Before(end); now = time.Now() {
					for due := int(rps*now.Sub(start).Seconds()) + 1; sent < due; sent++ {
						rig.AdmitDone(a, route)
					}
					time.Sleep(time.Millisecond)
				}
			}
			elapsed := time.Since(start).Seconds()
			cmds := commands(b, admin) - before
			b.ReportMetric(float64(sent)/elapsed, "requests/s")
			b.ReportMetric(float64(cmds)/elapsed, "redis-cmds/s")
			b.ReportMetric(float64(p.Stats().Batches-batches)/elapsed, "pipelines/s")
		})
	}
}

// commands is how many commands the server has executed, INFO excluded.
func commands(b *testing.B, c *redis.Client) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		// cmdstat_set:calls=12,usec=...
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "cmdstat_"), ":calls=")
		if !ok || name == "info" {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		v, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			b.Fatalf("commandstats line %q: %v", sc.Text(), err)
		}
		n += v
	}
	return n
}
