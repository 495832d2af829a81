package atrotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
	atrotel "github.com/atrion-go/atrion/observability/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Publish an engine's routes on a MeterProvider; here one read by a manual
// reader, in a service one with a periodic reader and an exporter.
func ExampleRegisterMetrics() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := atrotel.RegisterMetrics(a, atrotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
	if d.Allowed {
		t.Done(atrion.Success)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rm.ScopeMetrics[0].Scope.Name)
	// Output: github.com/atrion-go/atrion/observability/otel
}

// Add shed and transition events to the spans of an HTTP service's
// requests: the adapter's decision hook hands each decision to the Tracer
// (the span is started by the tracing middleware outside the adapter,
// e.g. otelhttp, otelgin or otelgrpc's stats handler).
func ExampleTracer() {
	tr := atrotel.NewTracer()
	a, err := atrion.New(atrion.WithObserver(tr))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", http.NotFoundHandler())
	handler := atrhttp.Middleware(a, atrhttp.WithDecisionHook(tr.RecordDecision))(mux)
	_ = handler // e.g. http.ListenAndServe(addr, otelhttp.NewHandler(handler, "users"))
}
