package atrreplay

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// The recorder's cost on the request path, beside the same engine without
// it in the same run: none is expected, since the engine hands tick events
// to observers through a queue, once per route tick. Run with
//
//	go test -run '^$' -bench AdmitDone -benchmem -count 5
func BenchmarkAdmitDone(b *testing.B) {
	withAndWithout(b, func(b *testing.B, a *atrion.Atrion) {
		for b.Loop() {
			admitDone(a)
		}
	})
}

func BenchmarkAdmitDoneParallel(b *testing.B) {
	withAndWithout(b, func(b *testing.B, a *atrion.Atrion) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				admitDone(a)
			}
		})
	})
}

func admitDone(a *atrion.Atrion) {
	t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
	if d.Allowed {
		t.Done(atrion.Success)
	}
}

// withAndWithout runs body as two sub-benchmarks, the engine bare and
// with a Recorder attached.
func withAndWithout(b *testing.B, body func(*testing.B, *atrion.Atrion)) {
	for _, recorded := range []bool{false, true} {
		name := "bare"
		if recorded {
			name = "recorded"
		}
		b.Run(name, func(b *testing.B) {
			a := benchEngine(b, recorded)
			b.ReportAllocs()
			body(b, a)
		})
	}
}

// benchEngine is an engine on the system clock, so that ticks close and
// events reach the recorder while the benchmark runs.
func benchEngine(b *testing.B, recorded bool) *atrion.Atrion {
	var opts []atrion.Option
	var rec *Recorder
	if recorded {
		var err error
		if rec, err = NewRecorder(io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
		opts = append(opts, atrion.WithObserver(rec))
	}
	a, err := atrion.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		a.Close(context.Background())
		if rec != nil {
			if st := rec.Stats(); st.Ticks == 0 && b.Elapsed() > time.Second {
				b.Errorf("the recorder saw no tick in %v", b.Elapsed())
			}
			rec.Close()
		}
	})
	return a
}

// BenchmarkRecorderTick is the recorder's cost per tick event, in the
// observer goroutine, and the file it writes: bytes per route-hour at the
// engine's default 100 ms tick, for a busy route (about 1,000 requests a
// second, some shed and failing, every value moving every tick).
func BenchmarkRecorderTick(b *testing.B) {
	rec, err := NewRecorder(io.Discard, Options{FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1_700_000_000, 0)
	const tick = 100 * time.Millisecond
	e := atrion.Event{Kind: atrion.EventTick, Route: "GET /users/:id", Dt: tick, Mode: atrion.ModeOperational}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		e.Time = start.Add(time.Duration(n) * tick)
		e.Admitted = 80 + rng.Uint64N(40)
		e.Shed = rng.Uint64N(3)
		e.Failed = rng.Uint64N(4)
		e.Succeeded = e.Admitted - e.Failed
		e.Latency = 20*time.Millisecond + time.Duration(rng.Int64N(int64(60*time.Millisecond)))
		e.InFlight = float64(2 + rng.IntN(10))
		e.Limit = 20 + 20*rng.Float64()
		e.Resistance = 10 + 5*rng.Float64()
		rec.OnUpdate(e)
	}
	rec.Close()
	st := rec.Stats()
	b.ReportMetric(float64(st.Bytes)/float64(st.Ticks)*float64(time.Hour/tick), "B/route-hour")
}

// The recorder adds no allocation to the request path, the closing of
// ticks included (the request that crosses a tick boundary closes the
// tick and hands its event to the observers).
func TestRecorderAddsNoAllocationToTheRequestPath(t *testing.T) {
	allocs := func(recorded bool) float64 {
		var rec *Recorder
		opts := []atrion.Option{}
		if recorded {
			var err error
			if rec, err = NewRecorder(io.Discard, Options{}); err != nil {
				t.Fatal(err)
			}
			opts = append(opts, atrion.WithObserver(rec))
		}
		a, clk := atriontest.New(t, opts...)
		n := 0
		allocs := testing.AllocsPerRun(5000, func() {
			if n++; n%50 == 0 {
				clk.Advance(a.Tick())
			}
			admitDone(a)
		})
		if rec != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a.Flush(ctx)
			if st := rec.Stats(); st.Ticks < 50 {
				t.Fatalf("the recorder saw %d ticks: the tick closes were not exercised", st.Ticks)
			}
			rec.Close()
		}
		return allocs
	}
	bare, recorded := allocs(false), allocs(true)
	if recorded != 0 || bare != 0 {
		t.Fatalf("allocations per Admit+Done: %v bare, %v with a recorder", bare, recorded)
	}
}
