package atrotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

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
// requests (the span is started by the tracing middleware outside this
// one, e.g. otelhttp).
func ExampleTracer() {
	tr := atrotel.NewTracer()
	a, err := atrion.New(atrion.WithObserver(tr))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())

	guard := func(route string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, d := a.Admit(route, atrion.PriorityNormal)
			tr.RecordDecision(r.Context(), route, d)
			if !d.Allowed {
				w.Header().Set("Retry-After", atrion.RetryAfterSeconds(d.RetryAfter))
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
			t.Done(atrion.Success)
		})
	}
	http.NewServeMux().Handle("GET /users/{id}", guard("GET /users/{id}", http.NotFoundHandler()))
}
