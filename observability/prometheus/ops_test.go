package atrprom_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/observability/internal/obstest"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// needTool returns the path of a binary the test needs; it skips the test
// when the binary is missing, and fails it instead when CI is set.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not on PATH; install Debian's %s package (apt-get install %s) to run this test", name, pkg, pkg)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set: a missing tool fails)")
	}
	t.Skip(msg)
	return ""
}

func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The alert rules are valid and their unit tests (alerts_test.yml) pass.
func TestAlertRules(t *testing.T) {
	promtool := needTool(t, "promtool", "prometheus")
	runTool(t, promtool, "check", "rules", "alerts.yml")
	if out := runTool(t, promtool, "test", "rules", "alerts_test.yml"); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// dashboard is what the tests read of the Grafana dashboard.
type dashboard struct {
	Title, UID string
	Panels     []struct {
		ID      int
		Title   string
		Type    string
		Targets []struct {
			RefID string
			Expr  string
		}
	}
	Templating struct {
		List []struct{ Name string }
	}
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	return d
}

// instantiate replaces the dashboard's variables the way Grafana would
// with "All" selected.
func instantiate(expr string) string {
	return strings.NewReplacer(`"$job"`, `".*"`, `"$route"`, `".*"`, "$__rate_interval", "1m").Replace(expr)
}

// published returns the names of the series a collector with the alert
// families publishes, the engine's own included.
func published(t *testing.T) map[string]bool {
	t.Helper()
	r := newRig(t)
	atriontest.Send(r.A, "GET /a", 1, atrion.Success)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(atrprom.NewCollector(r.A, atrprom.WithFamilies(atrprom.AlertFamilies...)))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"atrion_mode_transitions_total": true} // only pairs that happened have series
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

var seriesName = regexp.MustCompile(`\batrion_[a-z_]+\b`)

// The dashboard and the alert rules read only series that a collector
// with WithFamilies(atrprom.AlertFamilies...) publishes; every panel has
// a query, and every query is valid PromQL (promtool checks them as
// recording rules).
func TestDashboardAndRulesReadPublishedSeries(t *testing.T) {
	names := published(t)
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || len(d.Panels) < 8 {
		t.Fatalf("dashboard %q (uid %q) with %d panels", d.Title, d.UID, len(d.Panels))
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] || !vars["job"] || !vars["route"] {
		t.Errorf("dashboard variables %v: want datasource, job and route", vars)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range seriesName.FindAllString(tg.Expr, -1) {
				if !names[n] {
					t.Errorf("panel %q reads %s, which atrprom does not publish with AlertFamilies", p.Title, n)
				}
			}
			fmt.Fprintf(&rules, "      - record: atrion_dashboard:panel_%d_%s\n        expr: %s\n", p.ID, tg.RefID, strconv.Quote(instantiate(tg.Expr)))
		}
	}
	alerts, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range seriesName.FindAllString(string(alerts), -1) {
		if !names[n] {
			t.Errorf("alerts.yml reads %s, which atrprom does not publish with AlertFamilies", n)
		}
	}
	promtool := needTool(t, "promtool", "prometheus")
	file := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, promtool, "check", "rules", file)
}

// exporter is an engine on a manual clock published by atrprom over HTTP
// on loopback, as a service's /metrics is.
type exporter struct {
	a   *atrion.Atrion
	clk *atrion.ManualClock
	url string
}

func newExporter(t *testing.T) *exporter {
	r := obstest.New(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(r.A, atrprom.WithFamilies(atrprom.AlertFamilies...)))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return &exporter{a: r.A, clk: r.Clk, url: srv.URL}
}

// startPrometheus runs a real Prometheus on a free loopback port, with
// its data in a temporary directory, scraping target every second and
// evaluating rules every second. It is stopped when t ends.
func startPrometheus(t *testing.T, bin, target, rules string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // Prometheus takes the port over
	var log syncBuffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	waitUntil(t, 30*time.Second, "Prometheus to be ready", func() bool {
		res, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return base
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// apiGet reads a Prometheus API answer's data into v.
func apiGet(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var env struct {
		Status string
		Error  string
		Data   json.RawMessage
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != "success" {
		t.Fatalf("GET %s: %s %s", u, env.Error, body)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatal(err)
	}
}

type alert struct {
	Labels map[string]string
	State  string
}

func alerts(t *testing.T, base string) []alert {
	var data struct{ Alerts []alert }
	apiGet(t, base+"/api/v1/alerts", &data)
	return data.Alerts
}

// query returns an instant query's results as label sets with values.
func query(t *testing.T, base, q string) []string {
	var data struct {
		Result []struct {
			Metric map[string]string
			Value  [2]any
		}
	}
	apiGet(t, base+"/api/v1/query?query="+url.QueryEscape(q), &data)
	var out []string
	for _, r := range data.Result {
		out = append(out, fmt.Sprintf("%v=%v", r.Metric, r.Value[1]))
	}
	return out
}

// quickRules returns alerts.yml with every for: cut to a second, so that a
// test waits seconds, not minutes.
func quickRules(t *testing.T) string {
	t.Helper()
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAllString(string(rules), "${1}for: 1s")
}

// A real Prometheus scrapes an Atrion exporter on loopback with the
// bundled rules (their for: durations cut to a second, so that the test
// waits seconds, not minutes): no alert while the route is healthy,
// AtrionCircuitOpen firing for that route once its circuit is open; every
// dashboard query evaluates, and the "Circuits open" panel reads 1.
func TestPrometheusFiresCircuitOpenAlert(t *testing.T) {
	bin := needTool(t, "prometheus", "prometheus")
	e := newExporter(t)
	const route = "GET /pay/:id"
	atriontest.Send(e.a, route, 1, atrion.Success)

	base := startPrometheus(t, bin, strings.TrimPrefix(e.url, "http://"), quickRules(t))

	waitUntil(t, 30*time.Second, "the exporter's first scrapes", func() bool {
		return len(query(t, base, `atrion_route_mode{route="GET /pay/:id",mode="OPERATIONAL"} == 1`)) == 1
	})
	time.Sleep(2 * time.Second) // a few rule evaluations on the healthy route
	for _, a := range alerts(t, base) {
		if a.Labels["alertname"] == "AtrionCircuitOpen" {
			t.Fatalf("AtrionCircuitOpen %s while the route is healthy: %v", a.State, a.Labels)
		}
	}

	atriontest.Trip(t, e.a, e.clk, route) // the manual clock then stands still: the route stays open
	waitUntil(t, 30*time.Second, "AtrionCircuitOpen to fire", func() bool {
		for _, a := range alerts(t, base) {
			if a.Labels["alertname"] == "AtrionCircuitOpen" && a.State == "firing" &&
				a.Labels["route"] == route && a.Labels["job"] == "shop" && a.Labels["severity"] == "critical" {
				return true
			}
		}
		return false
	})

	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			got := query(t, base, instantiate(tg.Expr)) // fails the test on an error
			if p.Title == "Circuits open" && (len(got) != 1 || !strings.HasSuffix(got[0], "=1")) {
				t.Errorf("panel %q reads %v, want 1", p.Title, got)
			}
		}
	}
}

// A real Prometheus scrapes an exporter whose route is offered five times
// its capacity (the manual clock then stands still, so the demand stays):
// AtrionDemandAboveCapacity fires for that route (its for: cut to a
// second), and the dashboard's demand and utilisation panels read it.
func TestPrometheusFiresDemandAlert(t *testing.T) {
	bin := needTool(t, "prometheus", "prometheus")
	e := newExporter(t)
	const route = "GET /search"
	load := (&obstest.Rig{A: e.a, Clk: e.clk}).Overload(t, route)
	defer load.Release()

	base := startPrometheus(t, bin, strings.TrimPrefix(e.url, "http://"), quickRules(t))
	waitUntil(t, 30*time.Second, "AtrionDemandAboveCapacity to fire", func() bool {
		for _, a := range alerts(t, base) {
			if a.Labels["alertname"] == "AtrionDemandAboveCapacity" && a.State == "firing" &&
				a.Labels["route"] == route && a.Labels["severity"] == "warning" {
				return true
			}
		}
		return false
	})
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			got := query(t, base, instantiate(tg.Expr))
			switch p.Title {
			case "Demand by route", "Utilisation (in flight ÷ limit)":
				if len(got) != 1 || !strings.Contains(got[0], route) {
					t.Errorf("panel %q reads %v, want one series for %s", p.Title, got, route)
				}
			}
			if p.Title == "Demand by route" && len(got) == 1 {
				var v float64
				if _, err := fmt.Sscanf(got[0][strings.LastIndex(got[0], "=")+1:], "%g", &v); err != nil || v < 4 || v > 6 {
					t.Errorf("panel %q reads %v, want about 5", p.Title, got)
				}
			}
		}
	}
}
