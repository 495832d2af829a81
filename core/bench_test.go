package atrion_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// The floor (SPEC §9): two monotonic clock reads and three atomic adds,
// the least a timed, counted admission can cost.
var floorEpoch = time.Now()

type floorCounters struct{ a, b, c atomic.Int64 }

func floorOp(f *floorCounters) {
	start := time.Since(floorEpoch)
	f.a.Add(1)
	f.b.Add(1)
	f.c.Add(int64(time.Since(floorEpoch) - start))
}

func BenchmarkFloor(b *testing.B) {
	var f floorCounters
	b.ReportAllocs()
	for b.Loop() {
		floorOp(&f)
	}
}

func BenchmarkFloorParallel(b *testing.B) {
	var f floorCounters
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			floorOp(&f)
		}
	})
}

func newBenchEngine(b *testing.B) *atrion.Atrion {
	a, err := atrion.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	return a
}

func BenchmarkAdmitDone(b *testing.B) {
	a := newBenchEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
		if d.Allowed {
			t.Done(atrion.Success)
		}
	}
}

func BenchmarkAdmitDoneParallel(b *testing.B) {
	a := newBenchEngine(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
			if d.Allowed {
				t.Done(atrion.Success)
			}
		}
	})
}

func routeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "GET /r/" + strconv.Itoa(i)
	}
	return ids
}

func BenchmarkAdmitDone1000RoutesParallel(b *testing.B) {
	a := newBenchEngine(b)
	ids := routeIDs(1000)
	b.ReportAllocs()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			t, d := a.Admit(ids[i%len(ids)], atrion.PriorityNormal)
			if d.Allowed {
				t.Done(atrion.Success)
			}
		}
	})
}

// TestAdmitDoneAllocs pins the hot path at zero allocations, on one route
// and across many, through tick closes.
func TestAdmitDoneAllocs(t *testing.T) {
	clk := atrion.NewManualClock(epoch)
	a, err := atrion.New(atrion.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	ids := routeIDs(100)
	for _, id := range ids { // create the routes first
		a.Admit(id, atrion.PriorityNormal)
	}
	a.Admit("GET /one", atrion.PriorityNormal)
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		t, d := a.Admit("GET /one", atrion.PriorityNormal)
		if d.Allowed {
			t.Done(atrion.Success)
		}
		t2, d2 := a.Admit(ids[i%len(ids)], atrion.PriorityLow)
		if d2.Allowed {
			t2.Done(atrion.Failure)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("Admit+Done allocates %.2f times per run", allocs)
	}
	// rejections allocate nothing either
	a2, clk2 := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	report(a2, clk2, "down", 40, func(int) atrion.Outcome { return atrion.Outcome{IsError: true} })
	if s, _ := a2.Snapshot("down"); s.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("mode %v", s.Mode)
	}
	if allocs := testing.AllocsPerRun(1000, func() { a2.Admit("down", atrion.PriorityNormal) }); allocs != 0 {
		t.Fatalf("a rejection allocates %.2f times", allocs)
	}
	_ = clk
}

// BenchmarkTickClose measures one route's tick close: the physics, mode
// machine, tuner and decision-state publication.
func BenchmarkTickClose(b *testing.B) {
	clk := atrion.NewManualClock(epoch)
	a, err := atrion.New(atrion.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond})
		clk.Advance(100 * time.Millisecond)
		a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond}) // closes the tick
	}
}

// BenchmarkRouteMemory reports the heap held per tracked route, at 1,000
// and 100,000 routes.
func BenchmarkRouteMemory(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ids := routeIDs(n)
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				clk := atrion.NewManualClock(epoch)
				a, err := atrion.New(atrion.WithClock(clk), atrion.WithMaxRoutes(n))
				if err != nil {
					b.Fatal(err)
				}
				for _, id := range ids {
					a.ReportOutcome(id, atrion.Outcome{})
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/route")
				runtime.KeepAlive(a)
				a.Close(context.Background())
			}
		})
	}
}

// customClock is a ManualClock the engine treats as any other Clock (its
// routes spread over stripes as on the system clock).
type customClock struct{ *atrion.ManualClock }

// BenchmarkRejectParallel is the cost of a rejection by an open circuit,
// from every core: what a flood costs while a route is tripped.
func BenchmarkRejectParallel(b *testing.B) {
	clk := atrion.NewManualClock(epoch)
	a, err := atrion.New(atrion.WithClock(customClock{clk}), atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	const id = "GET /down"
	for i := 0; i < 200; i++ {
		for range 300 {
			if t, d := a.Admit(id, atrion.PriorityNormal); d.Allowed {
				t.DoneLatency(atrion.Failure, time.Second)
			}
		}
		clk.Advance(a.Tick())
		if s, _ := a.Snapshot(id); s.Mode == atrion.ModeCircuitOpen {
			break
		}
	}
	if s, _ := a.Snapshot(id); s.Mode != atrion.ModeCircuitOpen {
		b.Fatalf("route did not open: %v", s.Mode)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, d := a.Admit(id, atrion.PriorityNormal); d.Allowed {
				b.Error("admitted through an open circuit")
				return
			}
		}
	})
}

// limitedEngine returns an engine whose route counts on one exact stripe:
// calls held in flight keep it near its in-flight limit, where the limit is
// checked on every admission.
func limitedEngine(b *testing.B, route string) *atrion.Atrion {
	a := newBenchEngine(b)
	var held []atrion.Ticket
	for range 40 {
		tk, _ := a.Admit(route, atrion.PriorityCritical)
		held = append(held, tk)
	}
	time.Sleep(2 * a.Tick()) // a tick closes with 40 in flight: the limit is set near it
	a.Snapshot(route)
	b.Cleanup(func() {
		for _, tk := range held {
			tk.Done(atrion.Success)
		}
	})
	return a
}

// BenchmarkAdmitDoneLimited is Admit + Done on a route whose in-flight
// limit may bind: counted on one exact stripe, the limit checked.
func BenchmarkAdmitDoneLimited(b *testing.B) {
	const route = "GET /users/:id"
	a := limitedEngine(b, route)
	b.ReportAllocs()
	for b.Loop() {
		t, d := a.Admit(route, atrion.PriorityCritical)
		if d.Allowed {
			t.Done(atrion.Success)
		}
	}
}

func BenchmarkAdmitDoneLimitedParallel(b *testing.B) {
	const route = "GET /users/:id"
	a := limitedEngine(b, route)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t, d := a.Admit(route, atrion.PriorityNormal)
			if d.Allowed {
				t.Done(atrion.Success)
			}
		}
	})
}
