package atrion_test

import (
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
