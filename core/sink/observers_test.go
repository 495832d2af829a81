package sink_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
)

// tick and transition are one event of each kind, as the engine sends them.
var (
	at   = time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	tick = atrion.Event{Kind: atrion.EventTick, Route: "GET /a", Time: at, Mode: atrion.ModeOperational,
		Resistance: 12.5, Scar: 1.25, Momentum: 0.5, PositiveNorm: 0.75, Admitted: 40, Shed: 3, Failed: 2}
	transition = atrion.Event{Kind: atrion.EventTransition, Route: "GET /a", Time: at,
		From: atrion.ModeOperational, To: atrion.ModeCircuitOpen, Mode: atrion.ModeCircuitOpen, Resistance: 80, Scar: 30}
)

// Silent takes every event and does nothing with it.
func TestSilent(t *testing.T) {
	o := sink.Silent()
	o.OnUpdate(tick)
	o.OnUpdate(transition)
}

// Composite gives each observer every event, in order, even after one of
// them panics.
func TestComposite(t *testing.T) {
	var got []string
	first := atrion.ObserverFunc(func(e atrion.Event) { got = append(got, "first "+e.Kind.String()) })
	panicky := atrion.ObserverFunc(func(atrion.Event) { panic("observer bug") })
	last := atrion.ObserverFunc(func(e atrion.Event) { got = append(got, "last "+e.Kind.String()) })
	o := sink.Composite(first, panicky, last)
	o.OnUpdate(tick)
	o.OnUpdate(transition)
	want := []string{"first tick", "last tick", "first transition", "last transition"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %q, want %q", got, want)
	}
	sink.Composite().OnUpdate(tick) // none: nothing to call
}

// Filtered passes on only what its filter keeps; TransitionsOnly keeps
// transitions.
func TestFilteredTransitionsOnly(t *testing.T) {
	col := sink.NewCollector(0)
	o := sink.Filtered(col, sink.TransitionsOnly)
	for range 3 {
		o.OnUpdate(tick)
	}
	o.OnUpdate(transition)
	if evs := col.Events(); len(evs) != 1 || evs[0].Kind != atrion.EventTransition {
		t.Fatalf("kept %+v, want the one transition", evs)
	}
	if sink.TransitionsOnly(tick) || !sink.TransitionsOnly(transition) {
		t.Fatal("TransitionsOnly does not tell ticks from transitions")
	}
}

// Console writes one line per transition, and per tick only when
// verbose; lines from concurrent calls do not interleave.
func TestConsole(t *testing.T) {
	var quiet, loud bytes.Buffer
	sink.Console(&quiet, false).OnUpdate(tick)
	if quiet.Len() != 0 {
		t.Fatalf("a quiet console wrote a tick: %q", quiet.String())
	}
	sink.Console(&quiet, false).OnUpdate(transition)
	if want := "15:04:05 atrion GET /a                   OPERATIONAL → CIRCUIT_OPEN  R=80.00 S=30.00\n"; quiet.String() != want {
		t.Fatalf("transition line %q, want %q", quiet.String(), want)
	}
	o := sink.Console(&loud, true)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				o.OnUpdate(tick)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(loud.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines for 400 ticks", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "15:04:05 atrion GET /a") || !strings.HasSuffix(l, "admitted=40 shed=3 failed=2") {
			t.Fatalf("tick line %q", l)
		}
	}
}

// Slog logs transitions at Info, an opening at Warn, ticks at Debug, each
// with its fields.
func TestSlog(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := sink.Slog(l)
	o.OnUpdate(tick)
	o.OnUpdate(transition)
	closing := transition
	closing.From, closing.To = atrion.ModeRecovering, atrion.ModeOperational
	o.OnUpdate(closing)
	recs := decode(t, &buf)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if r := recs[0]; r["level"] != "DEBUG" || r["msg"] != "atrion tick" || r["mode"] != "OPERATIONAL" ||
		r["resistance"] != 12.5 || r["admitted"] != 40.0 || r["shed"] != 3.0 || r["failed"] != 2.0 {
		t.Errorf("tick record %v", r)
	}
	if r := recs[1]; r["level"] != "WARN" || r["msg"] != "atrion transition" || r["from"] != "OPERATIONAL" ||
		r["to"] != "CIRCUIT_OPEN" || r["resistance"] != 80.0 || r["scar"] != 30.0 {
		t.Errorf("opening record %v", r)
	}
	if r := recs[2]; r["level"] != "INFO" || r["to"] != "OPERATIONAL" {
		t.Errorf("closing record %v", r)
	}
}

// JSON writes JSON lines, ticks only when verbose.
func TestJSON(t *testing.T) {
	var quiet, loud bytes.Buffer
	for _, o := range []atrion.Observer{sink.JSON(&quiet, false), sink.JSON(&loud, true)} {
		o.OnUpdate(tick)
		o.OnUpdate(transition)
	}
	if recs := decode(t, &quiet); len(recs) != 1 || recs[0]["to"] != "CIRCUIT_OPEN" {
		t.Fatalf("quiet: %v, want the transition alone", recs)
	}
	if recs := decode(t, &loud); len(recs) != 2 || recs[0]["msg"] != "atrion tick" {
		t.Fatalf("verbose: %v, want the tick and the transition", recs)
	}
}

// Collector keeps the newest events up to its limit, returns copies, and
// forgets everything on Reset.
func TestCollector(t *testing.T) {
	c := sink.NewCollector(3)
	for i := range 5 {
		e := tick
		e.Admitted = uint64(i)
		c.OnUpdate(e)
	}
	c.OnUpdate(transition)
	evs := c.Events()
	if len(evs) != 3 || evs[0].Admitted != 3 || evs[1].Admitted != 4 || evs[2].Kind != atrion.EventTransition {
		t.Fatalf("kept %+v, want ticks 3 and 4 and the transition", evs)
	}
	evs[0].Route = "changed"
	if c.Events()[0].Route != "GET /a" {
		t.Fatal("Events returned the collector's own slice")
	}
	if tr := c.Transitions(); len(tr) != 1 || tr[0].To != atrion.ModeCircuitOpen {
		t.Fatalf("transitions %+v", tr)
	}
	c.Reset()
	if len(c.Events()) != 0 {
		t.Fatal("events survived Reset")
	}
	for _, limit := range []int{0, -1} { // the default: 10,000
		d := sink.NewCollector(limit)
		for range 10_001 {
			d.OnUpdate(tick)
		}
		if n := len(d.Events()); n != 10_000 {
			t.Fatalf("NewCollector(%d) kept %d events, want 10,000", limit, n)
		}
	}
}

// SlogAudit logs each record at Info with every field.
func TestSlogAudit(t *testing.T) {
	var buf bytes.Buffer
	a := sink.SlogAudit(slog.New(slog.NewJSONHandler(&buf, nil)))
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditBan, Route: "GET /a", Actor: "engine", Action: "ban",
		Resistance: 3, ErrorRate: 0.5, Limit: 7, Detail: "key k", Time: at})
	recs := decode(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r["level"] != "INFO" || r["msg"] != "atrion audit" || r["kind"] != "ban" || r["route"] != "GET /a" ||
		r["actor"] != "engine" || r["action"] != "ban" || r["r"] != 3.0 || r["error_rate"] != 0.5 ||
		r["limit"] != 7.0 || r["detail"] != "key k" || r["at"] != "2025-01-02T15:04:05Z" {
		t.Fatalf("record %v", r)
	}
}

// decode reads JSON lines.
func decode(t *testing.T, buf *bytes.Buffer) (recs []map[string]any) {
	t.Helper()
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}
