package atrion_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// A transition is audited with its evidence, an update with who made it
// and the configuration before and after, a control with its actor.
func TestAuditTrail(t *testing.T) {
	var log atriontest.AuditLog
	a, clk := atriontest.New(t, atrion.WithAudit(&log), atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	atriontest.Healthy(t, a, clk, "GET /pay", 12)
	atriontest.Trip(t, a, clk, "GET /pay")
	if err := a.Update(atrion.UpdatedBy("ops@console"), atrion.WithRouteConfig("GET /pay",
		atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 4}})); err != nil {
		t.Fatal(err)
	}
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Route: "GET /pay", Actor: "dashboard 10.0.0.7", Action: "evict"})
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var open *atrion.AuditRecord
	for _, r := range log.Of(atrion.AuditTransition) {
		if r.To == "CIRCUIT_OPEN" {
			open = &r
		}
	}
	if open == nil || open.Route != "GET /pay" || open.From != "OPERATIONAL" || open.Actor != "engine" ||
		open.Resistance <= 0 || open.ErrorRate <= 0.5 || open.ErrorBound <= 0 || open.Time.IsZero() {
		t.Fatalf("open transition %+v: want the route, OPERATIONAL → CIRCUIT_OPEN, with R and the error evidence", open)
	}
	cfg := log.Of(atrion.AuditConfig)
	if len(cfg) != 1 || cfg[0].Actor != "ops@console" || strings.Contains(cfg[0].From, `"GET /pay"`) ||
		!strings.Contains(cfg[0].To, `"GET /pay":{"physics":{"BaseResistance":0`) || !strings.Contains(cfg[0].To, `"BreakMultiplier":4`) {
		t.Fatalf("config records %+v", cfg)
	}
	if c := log.Of(atrion.AuditControl); len(c) != 1 || c[0].Actor != "dashboard 10.0.0.7" || c[0].Time.IsZero() {
		t.Fatalf("control records %+v", c)
	}
	// a refused update is no change: nothing audited
	a.Update(atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: -1}))
	a.Flush(context.Background())
	if n := len(log.Of(atrion.AuditConfig)); n != 1 {
		t.Fatalf("%d config records after a refused update, want 1", n)
	}
}

// A sink that blocks loses its own records only; the engine and the other
// sinks go on.
func TestAuditSinkBlocks(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	var log atriontest.AuditLog
	a, clk := atriontest.New(t,
		atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { <-block })),
		atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { panic("sink bug") })),
		atrion.WithAudit(&log))
	// in bursts of 1,000 that the healthy sink takes in before the next
	// (its queue holds 4,096: a burst beyond that is dropped by design,
	// however fast the sink), while the blocked sink's queue fills and drops
	deadline := time.Now().Add(10 * time.Second)
	for i := range 5000 {
		a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "t", Action: fmt.Sprint(i)})
		for (i+1)%1000 == 0 && len(log.Of(atrion.AuditControl)) < i+1 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	atriontest.Healthy(t, a, clk, "r", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	a.Flush(ctx) // the blocked sink never flushes
	st := a.Stats()
	if n := len(log.Of(atrion.AuditControl)); n != 5000 {
		t.Fatalf("the healthy sink got %d of 5000 records", n)
	}
	if len(st.AuditSinks) != 3 || st.AuditSinks[0].Drops == 0 || st.AuditSinks[2].Drops != 0 || st.AuditPanics < 5000-1 {
		t.Fatalf("stats %+v: want the blocked sink's drops counted, none for the healthy one, the panics counted", st)
	}
}

// The file sink writes one JSON line per record and rotates by size,
// keeping the newest files.
func TestAuditFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fa, err := atrion.AuditFile(path, 2000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		fa.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "t", Action: fmt.Sprintf("a%03d", i)})
	}
	if err := fa.Close(); err != nil {
		t.Fatal(err)
	}
	fa.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "late"})
	if n, err := fa.Errors(); n != 1 || err == nil {
		t.Fatalf("a record after Close: %d errors (%v), want 1", n, err)
	}
	var actions []string
	for _, p := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 2000 {
			t.Errorf("%s: %d bytes, over the 2000 cap", p, len(b))
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var r atrion.AuditRecord
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%s: %q: %v", p, line, err)
			}
			actions = append(actions, r.Action)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("kept more than 2 rotated files")
	}
	// the newest records survive, in order
	if last := actions[len(actions)-1]; last != "a099" || len(actions) < 20 {
		t.Fatalf("kept %d records ending %q", len(actions), last)
	}
	for i := 1; i < len(actions); i++ {
		if actions[i] <= actions[i-1] {
			t.Fatalf("records out of order: %q then %q", actions[i-1], actions[i])
		}
	}
	if _, err := atrion.AuditFile("", 0, 0); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := atrion.AuditFile(filepath.Join(t.TempDir(), "no", "such", "dir", "a.log"), 0, 0); err == nil {
		t.Error("unwritable path accepted")
	}
}

// A process killed in the middle of writing its audit trail leaves a file
// whose every complete line is a record.
func TestAuditFileSurvivesKill(t *testing.T) {
	if os.Getenv("ATRION_AUDIT_CHILD") != "" {
		fa, err := atrion.AuditFile(os.Getenv("ATRION_AUDIT_CHILD"), 1<<30, 1)
		if err != nil {
			os.Exit(3)
		}
		for i := 0; i < 10_000_000; i++ { // killed long before the end
			fa.Audit(atrion.AuditRecord{Kind: atrion.AuditTransition, Route: "GET /r", Actor: "engine",
				From: "OPERATIONAL", To: "CIRCUIT_OPEN", Resistance: float64(i), Detail: strings.Repeat("x", i%300)})
		}
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditFileSurvivesKill$")
	cmd.Env = append(os.Environ(), "ATRION_AUDIT_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 256<<10 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	n := 0
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			break // the unfinished last line, if any
		}
		var r atrion.AuditRecord
		if err := json.Unmarshal(line, &r); err != nil || r.Resistance != float64(n) {
			t.Fatalf("record %d: %q: %v", n, line, err)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d records before the kill", n)
	}
	t.Logf("%d complete records before SIGKILL", n)
}

// A sink that falls behind holds at most 8 MiB of records, whatever their
// size, not 4,096 of them: the rest are dropped and counted.
func TestAuditQueueBoundedInBytes(t *testing.T) {
	block := make(chan struct{})
	var got atomic.Int64
	a, _ := atriontest.New(t, atrion.WithAudit(atrion.AuditFunc(func(atrion.AuditRecord) { <-block; got.Add(1) })))
	unblock := sync.OnceFunc(func() { close(block) })
	defer unblock()
	big := strings.Repeat("x", 1<<20)
	for range 20 {
		a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "test", Detail: big})
	}
	// 8 MiB holds 7 records of a MiB and their overhead: 13 of 20 dropped
	st := a.Stats()
	if st.AuditDrops != 13 || st.AuditSinks[0].Drops != 13 {
		t.Fatalf("drops %d (the sink's %d): want 13", st.AuditDrops, st.AuditSinks[0].Drops)
	}
	unblock()
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 7 {
		t.Fatalf("the sink got %d records, want the 7 queued", got.Load())
	}
	// with its queue drained, the sink takes records again
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "test", Detail: big})
	a.Flush(context.Background())
	if st2 := a.Stats(); st2.AuditDrops != st.AuditDrops || got.Load() != 8 {
		t.Fatalf("a drained queue still drops: %d → %d", st.AuditDrops, st2.AuditDrops)
	}
}

// A configuration change is audited as what changed, bounded in size: an
// update of 3,000 route overrides is not a megabyte per record.
func TestAuditConfigIsADiff(t *testing.T) {
	var log atriontest.AuditLog
	a, _ := atriontest.New(t, atrion.WithAudit(&log))
	six := &atrion.PhysicsConfig{BreakMultiplier: 6}
	if err := a.Update(atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.2}), atrion.WithRouteConfig("GET /a", atrion.RouteConfig{Physics: six})); err != nil {
		t.Fatal(err)
	}
	var many []atrion.Option
	for i := range 3000 {
		many = append(many, atrion.WithRouteConfig(fmt.Sprintf("GET /route/%04d/%s", i, strings.Repeat("p", 200)), atrion.RouteConfig{Physics: six}))
	}
	if err := a.Update(many...); err != nil {
		t.Fatal(err)
	}
	// remove GET /a only
	if err := a.Update(atrion.WithRouteConfig("GET /a", atrion.RouteConfig{})); err != nil {
		t.Fatal(err)
	}
	a.Flush(context.Background())
	recs := log.Of(atrion.AuditConfig)
	if len(recs) != 3 {
		t.Fatalf("%d config records, want 3", len(recs))
	}
	first, bulk, removal := recs[0], recs[1], recs[2]
	if !strings.Contains(first.From, `"physics":{"BaseResistance":0,"DecayRate":0`) || !strings.Contains(first.To, `"DecayRate":0.2`) ||
		strings.Contains(first.From, `"GET /a"`) || !strings.Contains(first.To, `"GET /a":{"physics"`) || strings.Contains(first.To, "slo") {
		t.Fatalf("first change: from %s to %s: want physics and the new route only", first.From, first.To)
	}
	if len(bulk.From)+len(bulk.To) > 10<<10 || !strings.Contains(bulk.To, `"routesNotListed":`) || strings.Contains(bulk.To, `"GET /a"`) || strings.Contains(bulk.From, "physics") {
		t.Fatalf("bulk change: %d + %d bytes (from %.200s): want at most 10 kB, the unlisted routes counted, nothing unchanged", len(bulk.From), len(bulk.To), bulk.From)
	}
	if removal.To != "{}" || !strings.Contains(removal.From, `"routes":{"GET /a":{"physics":{`) {
		t.Fatalf("removing GET /a: from %s to %s", removal.From, removal.To)
	}
}
