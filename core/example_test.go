package atrion_test

import (
	"context"
	"fmt"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/sink"
)

func Example() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	t, d := a.Admit("GET /users/:id", atrion.PriorityNormal)
	if !d.Allowed {
		fmt.Println("rejected, retry after", d.RetryAfter)
		return
	}
	// ... serve the request ...
	t.Done(atrion.Success)
	fmt.Println(d.Mode)
	// Output: BOOTSTRAP
}

// A manual clock makes every tick deterministic: here a route trips under
// failures and heals with time alone.
func ExampleNewManualClock() {
	clk := atrion.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a, _ := atrion.New(atrion.WithClock(clk), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	defer a.Close(context.Background())

	for range 60 { // 6 s of failures
		a.ReportOutcome("GET /pay", atrion.Outcome{Latency: 30 * time.Millisecond, IsError: true})
		clk.Advance(100 * time.Millisecond)
	}
	s, _ := a.Snapshot("GET /pay")
	fmt.Println(s.Mode)

	clk.Advance(30 * time.Second) // no traffic: the scar heals
	s, _ = a.Snapshot("GET /pay")
	fmt.Println(s.Mode)
	// Output:
	// CIRCUIT_OPEN
	// RECOVERING
}

func ExampleAtrion_ReportOutcome() {
	clk := atrion.NewManualClock(time.Unix(0, 0))
	a, _ := atrion.New(atrion.WithClock(clk), atrion.WithSLO(atrion.SLO{BaselineLatency: 100 * time.Millisecond}))
	defer a.Close(context.Background())
	if a.CanAccept("search") {
		a.ReportOutcome("search", atrion.Outcome{Latency: 45 * time.Millisecond, Saturation: 0.3})
	}
	clk.Advance(100 * time.Millisecond)
	s, _ := a.Snapshot("search")
	fmt.Printf("%s R=%.1f\n", s.Mode, s.Resistance)
	// Output: BOOTSTRAP R=12.0
}

func ExampleAtrion_Route() {
	a, _ := atrion.New(atrion.WithClock(atrion.NewManualClock(time.Unix(0, 0))))
	defer a.Close(context.Background())
	d := a.Route("llm:gpt", atrion.Telemetry{Latency: 800 * time.Millisecond, ErrorRate: 0.02, Saturation: 0.6}, 0)
	fmt.Println(d.Allowed)
	// Output: true
}

func ExampleWithObserver() {
	clk := atrion.NewManualClock(time.Unix(0, 0))
	col := sink.NewCollector(0)
	a, _ := atrion.New(atrion.WithClock(clk), atrion.WithObserver(sink.Filtered(col, sink.TransitionsOnly)))
	for range 11 {
		a.ReportOutcome("r", atrion.Outcome{Latency: time.Millisecond})
		clk.Advance(100 * time.Millisecond)
	}
	a.Close(context.Background()) // drains the observers
	for _, e := range col.Events() {
		fmt.Println(e.Route, e.From, "→", e.To)
	}
	// Output: r BOOTSTRAP → OPERATIONAL
}
