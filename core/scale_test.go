package atrion_test

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Scale benchmarks (issue 21): what one call costs, at its worst, in an
// engine with many routes. Each times every call with two clock reads (the
// reads are in every number alike, so compare sizes, not absolutes) and
// reports percentiles from a histogram. Run them beside a build of the
// previous engine in the same run; benchmarks/redisbench/README.md has
// the commands and this machine's numbers.

// latHist is a latency histogram: 10 ns buckets to 20 µs, then powers of
// two.
type latHist struct {
	fine   [2000]uint64
	coarse [64]uint64
	n      uint64
	max    time.Duration
}

func (h *latHist) add(d time.Duration) {
	h.n++
	h.max = max(h.max, d)
	if i := int(d / 10); i < len(h.fine) {
		h.fine[i]++
		return
	}
	h.coarse[bits.Len64(uint64(d))]++
}

// quantile returns the q-quantile (0..1), to the bucket's upper bound.
func (h *latHist) quantile(q float64) time.Duration {
	want := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.fine {
		if seen += c; seen > want {
			return time.Duration(i+1) * 10
		}
	}
	for i, c := range h.coarse {
		if seen += c; seen > want {
			return time.Duration(1) << i
		}
	}
	return h.max
}

// atLeast counts the calls that took d or longer (to the bucket: d must
// be a power of two nanoseconds above 20 µs, e.g. 1<<20 ≈ 1.05 ms).
func (h *latHist) atLeast(d time.Duration) (n uint64) {
	for i := bits.Len64(uint64(d)); i < len(h.coarse); i++ {
		n += h.coarse[i]
	}
	return n
}

func (h *latHist) report(b *testing.B) {
	b.ReportMetric(float64(h.quantile(0.5)), "p50-ns")
	b.ReportMetric(float64(h.quantile(0.99)), "p99-ns")
	b.ReportMetric(float64(h.quantile(0.999)), "p99.9-ns")
	b.ReportMetric(float64(h.max), "max-ns")
	b.ReportMetric(float64(h.atLeast(1<<20)), "calls>=1ms")
}

// rng is a xorshift generator: cheap enough to pick a route per call.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

func scaleIDs(prefix string, n int) []string {
	ids := make([]string, n)
	buf := make([]byte, 0, 32)
	for i := range ids {
		buf = strconv.AppendInt(append(buf[:0], prefix...), int64(i), 10)
		ids[i] = string(buf)
	}
	return ids
}

// scaleOpts are every scale benchmark's options: SCALE_NOGROUP=1 puts
// each route in no group (WithGroups), which shows what the default
// group's per-tick pass over its members costs at scale.
var scaleOpts []atrion.Option

func init() {
	if os.Getenv("SCALE_NOGROUP") != "" {
		scaleOpts = append(scaleOpts, atrion.WithGroups(func(string) string { return "" }))
	}
}

func admitDone(a *atrion.Atrion, id string) {
	t, d := a.Admit(id, atrion.PriorityNormal)
	if d.Allowed {
		t.Done(atrion.Success)
	}
}

// BenchmarkScaleBusyRoutes times Admit+Done on routes picked at random
// from 10 and from 100,000 busy routes (every route has served calls in
// the last ticks; at 100,000 nearly every call is its route's first of a
// tick and closes it). The target: p99 at 100,000 within 3× of p99
// at 10. The uniform pick visits a route no cache holds on nearly every
// call; the zipf one (s = 1.1) picks routes as a fleet's traffic spreads
// over them, a few hot and a long tail.
//
// The floor cases time the least any engine keeping state per route can
// do in the same loop: find a route-sized record (1 KiB) in a Go map by
// its ID and add to a counter at each end of it, as an admission and an
// outcome would. What separates 10 routes from 100,000 there is the
// memory system alone: caches, TLB and, on a VM, nested page walks.
func BenchmarkScaleBusyRoutes(b *testing.B) {
	for _, c := range []struct {
		n           int
		zipf, floor bool
	}{{10, false, false}, {100_000, false, false}, {100_000, true, false},
		{10, false, true}, {100_000, false, true}, {100_000, true, true}} {
		name := fmt.Sprintf("routes=%d", c.n)
		if c.zipf {
			name += "/zipf"
		}
		if c.floor {
			name = "floor/" + name
		}
		b.Run(name, func(b *testing.B) {
			n := c.n
			ids := scaleIDs("GET /v1/items/", n)
			r := rng(0x9E3779B97F4A7C15)
			pick := func() string { return ids[r.next()%uint64(n)] }
			if c.zipf {
				z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(n-1))
				pick = func() string { return ids[z.Uint64()] }
			}
			call := func(id string) {}
			if c.floor {
				recs := make(map[string]*floorRecord, n)
				for _, id := range ids {
					recs[id] = &floorRecord{}
				}
				call = func(id string) {
					f := recs[id]
					f.admitted.Add(1)
					f.done.Add(1)
				}
			} else {
				a, err := atrion.New(append(scaleOpts, atrion.WithMaxRoutes(n), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))...)
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close(context.Background())
				call = func(id string) { admitDone(a, id) }
				// every route busy for a few ticks before the measurement
				for end := time.Now().Add(3 * a.Tick()); time.Now().Before(end); {
					for range 1000 {
						call(pick())
					}
				}
			}
			var h latHist
			runtime.GC()
			for b.Loop() {
				id := pick()
				start := time.Now()
				call(id)
				h.add(time.Since(start))
			}
			h.report(b)
		})
	}
}

// floorRecord is a route-sized record with a counter at each end.
type floorRecord struct {
	admitted atomic.Uint64
	_        [1024 - 16]byte
	done     atomic.Uint64
}

// BenchmarkScaleAdmitAtCap times Admit+Done in an engine holding 1,000,000
// routes at its cap while new routes arrive (one call in 100 is for a
// route never seen) and idle ones are evicted to make room. Calls go to
// the 100,000 newest routes, so older ones go idle (idle TTL 1 s). Run it
// with -benchtime 10000000x for the 10 M calls. After each call
// the loop also times a busy loop of about 2 µs (the "spin" metrics): what
// the machine (the scheduler, other goroutines and processes taking the
// CPU) does to any code in the same conditions.
func BenchmarkScaleAdmitAtCap(b *testing.B) {
	const routes, working = 1_000_000, 100_000
	newID := func(i int) string { return "GET /v2/items/" + strconv.Itoa(i) }
	a, err := atrion.New(append(scaleOpts, atrion.WithMaxRoutes(routes), atrion.WithIdleTTL(time.Second),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))...)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(context.Background())
	ids := make([]string, 0, 2*routes)
	for i := range routes {
		ids = append(ids, newID(i))
		admitDone(a, ids[i])
	}
	time.Sleep(time.Second + 2*a.Tick()) // the oldest routes are idle now
	r := rng(0x9E3779B97F4A7C15)
	spins := calibrateSpin(2 * time.Microsecond)
	var h, fresh, spin latHist
	runtime.GC()
	for b.Loop() {
		var id string
		x := r.next()
		if x%100 == 0 {
			ids = append(ids, newID(len(ids)))
			id = ids[len(ids)-1]
		} else {
			id = ids[len(ids)-1-int((x>>8)%working)]
		}
		start := time.Now()
		admitDone(a, id)
		d := time.Since(start)
		h.add(d)
		if x%100 == 0 {
			fresh.add(d)
		}
		start = time.Now()
		spinFor(spins)
		spin.add(time.Since(start))
	}
	h.report(b)
	b.ReportMetric(float64(fresh.atLeast(1<<20)), "new-route-calls>=1ms")
	b.ReportMetric(float64(fresh.max), "new-route-max-ns")
	b.ReportMetric(float64(spin.quantile(0.5)), "spin-p50-ns")
	b.ReportMetric(float64(spin.max), "spin-max-ns")
	b.ReportMetric(float64(spin.atLeast(1<<20)), "spin>=1ms")
	st := a.Stats()
	b.ReportMetric(float64(st.Evictions), "evictions")
	b.ReportMetric(float64(st.OverflowHits), "overflow-hits")
}

var spinSink uint64

// spinFor runs n rounds of a xorshift: CPU work that touches no memory.
func spinFor(n int) {
	x := rng(n | 1)
	for range n {
		x.next()
	}
	spinSink += uint64(x)
}

// calibrateSpin returns the rounds of spinFor that take about d.
func calibrateSpin(d time.Duration) int {
	const rounds = 1 << 20
	start := time.Now()
	spinFor(rounds)
	return max(1, int(float64(rounds)*float64(d)/float64(time.Since(start))))
}

// BenchmarkScaleIdleRouteMemory reports the heap held per idle route at
// 1,000,000 routes, the state provider's copy included: each route served
// requests in two ticks (so its first tick closed and went to the
// provider) and has been idle since.
func BenchmarkScaleIdleRouteMemory(b *testing.B) {
	const n = 1_000_000
	ids := scaleIDs("GET /v1/items/", n)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		clk := atrion.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		a, err := atrion.New(atrion.WithClock(clk), atrion.WithMaxRoutes(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			admitDone(a, id)
		}
		clk.Advance(a.Tick())
		for _, id := range ids {
			admitDone(a, id) // closes the route's first tick
		}
		if err := a.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/route")
		runtime.KeepAlive(a)
		a.Close(context.Background())
	}
}
