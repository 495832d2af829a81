package atrotel_test

import (
	"context"
	"strconv"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkCollect is one collection of an engine with 1,000 routes (each
// with 22 data points, one route with a transition) by an SDK manual
// reader: what a scrape costs, the SDK's aggregation included.
func BenchmarkCollect(b *testing.B) {
	const routes = 1000
	a, clk := atriontest.New(b)
	for i := range routes {
		a.ReportOutcome("GET /items/"+strconv.Itoa(i), atrion.Outcome{})
	}
	atriontest.Trip(b, a, clk, "GET /items/0")
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithCardinalityLimit(10*routes))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	if _, err := atrotel.RegisterMetrics(a, atrotel.WithMeterProvider(mp)); err != nil {
		b.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for b.Loop() {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			b.Fatal(err)
		}
	}
}
