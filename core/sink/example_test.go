package sink_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
)

// trip runs an engine on a manual clock with obs until route "r" opens its
// circuit: every call fails.
func trip(obs atrion.Observer) {
	clk := atrion.NewManualClock(time.Unix(0, 0).UTC())
	a, _ := atrion.New(atrion.WithClock(clk), atrion.WithObserver(obs))
	for range 40 {
		a.ReportOutcome("r", atrion.Outcome{Latency: time.Millisecond, IsError: true})
		clk.Advance(100 * time.Millisecond)
	}
	a.Close(context.Background()) // drains the observers
}

func ExampleConsole() {
	trip(sink.Console(os.Stdout, false))
	// Output:
	// 00:00:01 atrion r                        BOOTSTRAP → OPERATIONAL  R=14.78 S=5.00
	// 00:00:02 atrion r                        OPERATIONAL → CIRCUIT_OPEN  R=100.87 S=91.09
}

func ExampleJSON() {
	trip(sink.Filtered(sink.JSON(os.Stdout, false), sink.TransitionsOnly))
}

func ExampleSlog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch {
			case a.Key == slog.TimeKey:
				return slog.Attr{} // a stable output
			case a.Value.Kind() == slog.KindFloat64:
				return slog.String(a.Key, fmt.Sprintf("%.2f", a.Value.Float64()))
			}
			return a
		},
	}))
	trip(sink.Slog(logger))
	// Output:
	// level=INFO msg="atrion transition" route=r from=BOOTSTRAP to=OPERATIONAL resistance=14.78 scar=5.00
	// level=WARN msg="atrion transition" route=r from=OPERATIONAL to=CIRCUIT_OPEN resistance=100.87 scar=91.09
}

func ExampleSilent() {
	a, _ := atrion.New(atrion.WithObserver(sink.Silent()))
	defer a.Close(context.Background())
	_, d := a.Admit("GET /a", atrion.PriorityNormal)
	fmt.Println(d.Allowed)
	// Output: true
}

func ExampleComposite() {
	col := sink.NewCollector(0)
	trip(sink.Composite(col, sink.Silent()))
	for _, e := range col.Transitions() {
		fmt.Println(e.Route, e.From, "→", e.To)
	}
	// Output:
	// r BOOTSTRAP → OPERATIONAL
	// r OPERATIONAL → CIRCUIT_OPEN
}

func ExampleFiltered() {
	col := sink.NewCollector(0)
	trip(sink.Filtered(col, func(e atrion.Event) bool { return e.Kind == atrion.EventTransition && e.To == atrion.ModeCircuitOpen }))
	for _, e := range col.Events() {
		fmt.Println(e.Route, "opened at", e.Time.Format(time.TimeOnly))
	}
	// Output: r opened at 00:00:02
}

func ExampleCollector() {
	col := sink.NewCollector(100)
	trip(col)
	for _, e := range col.Transitions() {
		fmt.Println(e.From, "→", e.To)
	}
	// Output:
	// BOOTSTRAP → OPERATIONAL
	// OPERATIONAL → CIRCUIT_OPEN
}

func ExampleSlogAudit() {
	clk := atrion.NewManualClock(time.Unix(0, 0).UTC())
	a, _ := atrion.New(atrion.WithClock(clk), atrion.WithAudit(sink.SlogAudit(slog.Default())))
	defer a.Close(context.Background())
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "ops", Action: "evict", Route: "GET /a"})
}

func ExampleAuditFile() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	trail, err := sink.AuditFile(filepath.Join(dir, "audit.log"), 64<<20, 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := atrion.New(atrion.WithAudit(trail))
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "ops", Action: "evict", Route: "GET /a"})
	a.Close(context.Background()) // drains the audit trail...
	trail.Close()                 // ...before its file closes
	b, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	fmt.Println(len(b) > 0)
	// Output: true
}
