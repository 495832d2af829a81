package atrion_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

const goodConfig = `{
  "slo": {"baselineLatency": "200ms", "criticality": {"latency": 4}},
  "physics": {"breakMultiplier": 8, "bootstrapTicks": 2},
  "autoTuner": {"disabled": true},
  "routes": {"GET /search": {"physics": {"breakMultiplier": 4, "bootstrapTicks": 2}}},
  "maxRoutes": 500,
  "idleTTL": "5m"
}`

// A configuration file sets what it names: the defaults, a route's
// override, the route cap.
func TestParseConfig(t *testing.T) {
	opts, err := atrion.ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	a, clk := atriontest.New(t, opts...)
	for _, r := range []string{"GET /search", "GET /other"} {
		atriontest.Healthy(t, a, clk, r, 5)
	}
	s, _ := a.Snapshot("GET /search")
	o, _ := a.Snapshot("GET /other")
	if s.BreakPoint != 40 || o.BreakPoint != 80 || o.LatencyBaseline != 200*time.Millisecond {
		t.Fatalf("break points %v and %v, baseline %v: want 40 (route), 80 (defaults), 200ms", s.BreakPoint, o.BreakPoint, o.LatencyBaseline)
	}
}

// A file reloaded into Update changes the running engine; a bad one
// changes nothing.
func TestReloadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atrion.json")
	if err := os.WriteFile(path, []byte(goodConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := atrion.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	a, clk := atriontest.New(t, opts...)
	atriontest.Healthy(t, a, clk, "GET /search", 5)
	os.WriteFile(path, []byte(`{"routes": {"GET /search": {"physics": {"breakMultiplier": 6, "bootstrapTicks": 2}}}}`), 0o600)
	if opts, err = atrion.LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(opts...); err != nil {
		t.Fatal(err)
	}
	atriontest.Healthy(t, a, clk, "GET /search", 1)
	if s, _ := a.Snapshot("GET /search"); s.BreakPoint != 60 {
		t.Fatalf("after the reload: break %v, want 60", s.BreakPoint)
	}
	os.WriteFile(path, []byte(`{"physics": {"decayRate": -3}}`), 0o600)
	opts, err = atrion.LoadConfig(path)
	if err != nil {
		t.Fatal(err) // the shape is fine; the value is New's and Update's to refuse
	}
	if err := a.Update(opts...); err == nil || !strings.Contains(err.Error(), "PhysicsConfig.DecayRate") {
		t.Fatalf("a bad value: %v, want an error naming PhysicsConfig.DecayRate", err)
	}
	atriontest.Healthy(t, a, clk, "GET /search", 1)
	if s, _ := a.Snapshot("GET /search"); s.BreakPoint != 60 {
		t.Fatalf("a refused reload changed the break point to %v", s.BreakPoint)
	}
}

// Hostile or broken files: a clear error naming what is wrong, never a
// partial configuration.
func TestParseConfigBadInput(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"unknown field", `{"physics": {"decayRat": 0.2}}`, `unknown field "decayRat"`},
		{"wrong type", `{"maxRoutes": "many"}`, "maxRoutes"},
		{"bad duration", `{"idleTTL": "soon"}`, "soon"},
		{"number for a duration", `{"slo": {"baselineLatency": 200}}`, "duration is a string"},
		{"two values", `{} {}`, "more than one JSON value"},
		{"not JSON", `physics: 1`, "invalid character"},
		{"truncated", `{"physics": {`, "unexpected EOF"},
		{"array", `[1, 2]`, "cannot unmarshal"},
		{"too large", `{"routes": {"` + strings.Repeat("x", 9<<20) + `": {}}}`, "more than"},
	} {
		if _, err := atrion.ParseConfig([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	// well-formed, bad values: New names the field
	opts, err := atrion.ParseConfig([]byte(`{"routes": {"GET /x": {"autoTuner": {"k": -1}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := atrion.New(opts...); err == nil || !strings.Contains(err.Error(), `WithRouteConfig("GET /x").AutoTunerConfig.K`) {
		t.Fatalf("New: %v", err)
	}
	if _, err := atrion.LoadConfig(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing file loaded")
	}
}

// A reload is the whole configuration: what the new file no longer names
// returns to its default, and a route override it drops is removed, as a
// restart with that file would have it.
func TestReloadRemovesWhatTheFileDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atrion.json")
	write := func(s string) []atrion.Option {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := atrion.LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		return opts
	}
	opts := write(`{"physics": {"breakMultiplier": 6, "bootstrapTicks": 2}, "autoTuner": {"disabled": true},
		"routes": {"GET /search": {"physics": {"breakMultiplier": 4, "bootstrapTicks": 2}}}, "maxRoutes": 50}`)
	a, clk := atriontest.New(t, opts...)
	breaks := func() (search, other float64) {
		t.Helper()
		for _, r := range []string{"GET /search", "GET /other"} {
			atriontest.Healthy(t, a, clk, r, 12)
		}
		s, _ := a.Snapshot("GET /search")
		o, _ := a.Snapshot("GET /other")
		return s.BreakPoint, o.BreakPoint
	}
	if s, o := breaks(); s != 40 || o != 60 {
		t.Fatalf("break points %v and %v, want 40 (route) and 60 (file)", s, o)
	}
	if got := a.ConfiguredRoutes(); len(got) != 1 || got[0] != "GET /search" {
		t.Fatalf("overrides %q", got)
	}
	if err := a.Update(write(`{}`)...); err != nil {
		t.Fatal(err)
	}
	if s, o := breaks(); s != 100 || o != 100 {
		t.Fatalf("after reloading {}: break points %v and %v, want the default 100 for both", s, o)
	}
	if got := a.ConfiguredRoutes(); len(got) != 0 {
		t.Fatalf("after reloading {}: the override of %q remains", got)
	}
	// maxRoutes went back to 10,000: 60 routes are tracked on their own
	for i := range 60 {
		atriontest.Healthy(t, a, clk, fmt.Sprintf("GET /r%d", i), 1)
	}
	if st := a.Stats(); st.OverflowHits != 0 {
		t.Fatalf("after reloading {}: %d overflow hits, as if maxRoutes were still 50", st.OverflowHits)
	}
}

// Keys that are not exactly a field's name, or are given twice, are
// refused with the field named: Go's decoder would take them
// case-insensitively and let the last one win.
func TestParseConfigRefusesMiscasedAndRepeatedKeys(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"two cases of one section", `{"physics": {"breakMultiplier": 6}, "PHYSICS": {"breakMultiplier": 60}}`, `field PHYSICS: unknown (names are case-sensitive: "physics")`},
		{"a capitalised section", `{"Physics": {}}`, "field Physics: unknown"},
		{"a capitalised field", `{"physics": {"BreakMultiplier": 6}}`, "field physics.BreakMultiplier: unknown"},
		{"an upper-case top field", `{"MAXROUTES": 5}`, "field MAXROUTES"},
		{"in a route", `{"routes": {"GET /x": {"autoTuner": {"K": 2}}}}`, `field routes["GET /x"].autoTuner.K: unknown`},
		{"in criticality", `{"slo": {"criticality": {"Latency": 2}}}`, "field slo.criticality.Latency"},
		{"a section twice", `{"physics": {}, "physics": {"decayRate": 1}}`, "field physics: given twice"},
		{"a field twice", `{"physics": {"decayRate": 1, "decayRate": 2}}`, "field physics.decayRate: given twice"},
		{"a route twice", `{"routes": {"GET /x": {}, "GET /x": {}}}`, `field routes["GET /x"]: given twice`},
	} {
		if _, err := atrion.ParseConfig([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	// the same key in two objects is two fields, not a repeat
	if _, err := atrion.ParseConfig([]byte(`{"physics": {"decayRate": 1}, "routes": {"a": {"physics": {"decayRate": 2}}, "b": {"physics": {"decayRate": 3}}}}`)); err != nil {
		t.Fatal(err)
	}
}

// One route's configuration, as the dashboard's control sends it: the
// route's whole override, checked as a file's route is; {} removes it.
func TestParseRouteConfig(t *testing.T) {
	rc, err := atrion.ParseRouteConfig([]byte(`{"physics": {"breakMultiplier": 4, "bootstrapTicks": 2}}`))
	if err != nil || rc.Physics == nil || rc.Physics.BreakMultiplier != 4 || rc.SLO != nil || rc.AutoTuner != nil {
		t.Fatalf("%+v, %v", rc, err)
	}
	a, clk := atriontest.New(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}))
	if err := a.Update(atrion.WithRouteConfig("GET /x", rc)); err != nil {
		t.Fatal(err)
	}
	atriontest.Healthy(t, a, clk, "GET /x", 12)
	if s, _ := a.Snapshot("GET /x"); s.BreakPoint != 40 || !a.Knows("GET /x") {
		t.Fatalf("break %v, known %v", s.BreakPoint, a.Knows("GET /x"))
	}
	for _, empty := range []string{`{}`, `null`} {
		if rc, err = atrion.ParseRouteConfig([]byte(empty)); err != nil || rc != (atrion.RouteConfig{}) {
			t.Fatalf("%s: %+v, %v", empty, rc, err)
		}
	}
	if err := a.Update(atrion.WithRouteConfig("GET /x", rc)); err != nil {
		t.Fatal(err)
	}
	if got := a.ConfiguredRoutes(); len(got) != 0 {
		t.Fatalf("an empty override stayed: %q", got)
	}
	atriontest.Healthy(t, a, clk, "GET /x", 1)
	if s, _ := a.Snapshot("GET /x"); s.BreakPoint != 100 {
		t.Fatalf("break %v after removing the override, want 100", s.BreakPoint)
	}
	if a.Knows("GET /never") || !a.Knows("GET /x") {
		t.Fatal("Knows: wrong about a tracked or an unknown route")
	}
	for _, bad := range []string{`{"PHYSICS": {}}`, `{"physics": {"decayrate": 1}}`, `{"routes": {}}`, `[]`, `{"physics": {}} {}`} {
		if _, err := atrion.ParseRouteConfig([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
