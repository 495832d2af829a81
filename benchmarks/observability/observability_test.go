package observability

import (
	"context"
	"fmt"
	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newEngine is rig.Engine with room for every one of ids.
func newEngine(tb testing.TB, ids []string, opts ...atrion.Option) *atrion.Atrion {
	return rig.Engine(tb, ids, append([]atrion.Option{atrion.WithMaxRoutes(2 * len(ids))}, opts...)...)
}

// scrapers are the things a scrape benchmark measures on one engine; each
// returns the number of series it read.
type scraper struct {
	name  string
	setup func(tb testing.TB, a *atrion.Atrion) func() int
}

var scrapers = []scraper{
	{"snapshots", func(_ testing.TB, a *atrion.Atrion) func() int {
		return func() int { return len(a.Snapshots()) }
	}},
	{"prometheus", func(tb testing.TB, a *atrion.Atrion) func() int {
		reg := promRegistry(tb, a)
		return func() int {
			mfs, err := reg.Gather()
			if err != nil {
				tb.Fatal(err)
			}
			n := 0
			for _, mf := range mfs {
				n += len(mf.GetMetric())
			}
			return n
		}
	}},
	{"otel", func(tb testing.TB, a *atrion.Atrion) func() int {
		reader := otelReader(tb, a)
		var rm metricdata.ResourceMetrics
		return func() int {
			if err := reader.Collect(context.Background(), &rm); err != nil {
				tb.Fatal(err)
			}
			return otelPoints(&rm)
		}
	}},
}

// promRegistry returns a registry with a's collector.
func promRegistry(tb testing.TB, a *atrion.Atrion) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	if err := reg.Register(atrprom.NewCollector(a)); err != nil {
		tb.Fatal(err)
	}
	return reg
}

// otelReader returns a manual reader of a MeterProvider with a's
// instruments, without the SDK's cardinality limit (2,000 per instrument
// by default, below 10,000 routes).
func otelReader(tb testing.TB, a *atrion.Atrion) *sdkmetric.ManualReader {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithCardinalityLimit(0))
	tb.Cleanup(func() { mp.Shutdown(context.Background()) })
	if _, err := atrotel.RegisterMetrics(a, atrotel.WithMeterProvider(mp)); err != nil {
		tb.Fatal(err)
	}
	return reader
}

func otelPoints(rm *metricdata.ResourceMetrics) (n int) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			}
		}
	}
	return n
}

// BenchmarkScrape measures one scrape of an engine with 1,000 and 10,000
// routes: the engine's Snapshots (the floor both exporters stand on), a
// Prometheus registry's Gather with the atrprom collector, and an
// OpenTelemetry manual reader's Collect with the atrotel instruments. It
// reports the cost per route and the series read.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10_000} {
		a := newEngine(b, rig.RouteIDs(n))
		for _, s := range scrapers {
			b.Run(fmt.Sprintf("routes=%d/%s", n, s.name), func(b *testing.B) {
				scrape := s.setup(b, a)
				b.ReportAllocs()
				series := 0
				for b.Loop() {
					series = scrape()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/route")
				b.ReportMetric(float64(series), "series")
			})
		}
	}
}

// attach gives an engine everything the observability modules offer: it
// returns the engine option (the Tracer as an observer) and, once the
// engine exists, registers and exercises the collector and the
// instruments.
func attach(tb testing.TB) (atrion.Option, func(a *atrion.Atrion)) {
	tr := atrotel.NewTracer()
	return atrion.WithObserver(tr), func(a *atrion.Atrion) {
		if _, err := promRegistry(tb, a).Gather(); err != nil {
			tb.Fatal(err)
		}
		var rm metricdata.ResourceMetrics
		if err := otelReader(tb, a).Collect(context.Background(), &rm); err != nil {
			tb.Fatal(err)
		}
	}
}

// hotPath is one hot-path setup: bare, or with everything attached.
type hotPath struct {
	name     string
	attached bool
}

var hotPaths = []hotPath{{"bare", false}, {"attached", true}}

// setupHotPath returns an engine over routes routes, attached or not.
func setupHotPath(tb testing.TB, h hotPath, ids []string) *atrion.Atrion {
	if !h.attached {
		return newEngine(tb, ids)
	}
	opt, after := attach(tb)
	a := newEngine(tb, ids, opt)
	after(a)
	return a
}

// eachHotPath runs f as a sub-benchmark for 1 route and 1,000, bare and
// attached, with the engine set up outside the timer.
func eachHotPath(b *testing.B, f func(b *testing.B, a *atrion.Atrion, ids []string)) {
	for _, routes := range []int{1, 1000} {
		ids := rig.RouteIDs(routes)
		for _, h := range hotPaths {
			b.Run(fmt.Sprintf("routes=%d/%s", routes, h.name), func(b *testing.B) {
				a := setupHotPath(b, h, ids)
				b.ReportAllocs()
				b.ResetTimer()
				f(b, a, ids)
			})
		}
	}
}

// BenchmarkHotPath measures Admit + Done from one goroutine on a bare
// engine and on one with everything attached, on 1 route and on 1,000.
func BenchmarkHotPath(b *testing.B) {
	eachHotPath(b, func(b *testing.B, a *atrion.Atrion, ids []string) {
		rejects := 0
		for i := 0; b.Loop(); i++ {
			if !rig.AdmitDone(a, ids[i%len(ids)]) {
				rejects++
			}
		}
		b.ReportMetric(float64(rejects)/float64(b.N), "rejects/op")
	})
}

// BenchmarkHotPathParallel is BenchmarkHotPath from GOMAXPROCS goroutines
// sharing the engine, each starting at its own place among the routes.
func BenchmarkHotPathParallel(b *testing.B) {
	eachHotPath(b, func(b *testing.B, a *atrion.Atrion, ids []string) {
		var goroutines atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for i := int(goroutines.Add(1)) * 7919; pb.Next(); i++ {
				rig.AdmitDone(a, ids[i%len(ids)])
			}
		})
	})
}

// BenchmarkRecordDecision measures the trace adapter on a request: with no
// span, with a span that is not sampled, with a recording span and an
// admitted request, and with a recording span and a shed one (an event is
// added: the only case that allocates).
func BenchmarkRecordDecision(b *testing.B) {
	tr := atrotel.NewTracer()
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	defer never.Shutdown(context.Background())
	defer always.Shutdown(context.Background())
	unsampled, s1 := never.Tracer("bench").Start(context.Background(), "request")
	defer s1.End()
	recording, s2 := always.Tracer("bench").Start(context.Background(), "request")
	defer s2.End()
	shed := atrion.Decision{Reason: atrion.ReasonShed, Mode: atrion.ModeOperational, RetryAfter: time.Second}
	admitted := atrion.Decision{Allowed: true, Mode: atrion.ModeOperational}
	cases := []struct {
		name string
		ctx  context.Context
		d    atrion.Decision
	}{
		{"no-span", context.Background(), shed},
		{"not-sampled", unsampled, shed},
		{"recording-admitted", recording, admitted},
		{"recording-shed", recording, shed},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.RecordDecision(c.ctx, "GET /v1/items/:id", c.d)
			}
		})
	}
}
