package atrprom_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	atrion "github.com/atrion-go/atrion/core"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Register the collector and serve /metrics.
func ExampleNewCollector() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(a))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// serve mux with http.ListenAndServe

	t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
	if d.Allowed {
		t.Done(atrion.Success)
	}
	fmt.Println(testutil.CollectAndCount(reg, "atrion_route_mode"), "mode series")
	// Output: 4 mode series
}

// Two engines in one process, told apart by a constant label.
func ExampleWithConstLabels() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
	c := atrprom.NewCollector(a, atrprom.WithConstLabels(prometheus.Labels{"engine": "outbound"}))
	prometheus.NewRegistry().MustRegister(c)
}

// An engine with many routes publishes only what the alert rules and the
// dashboard read, about 19 series per route instead of 29.
func ExampleWithFamilies() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(a, atrprom.WithFamilies(atrprom.AlertFamilies...)))

	t, _ := a.Admit("GET /users/:id", atrion.PriorityNormal)
	t.Done(atrion.Success)
	fmt.Println(testutil.CollectAndCount(reg, "atrion_route_mode"), "mode series,",
		testutil.CollectAndCount(reg, "atrion_route_pressure"), "pressure series")
	// Output: 4 mode series, 0 pressure series
}
