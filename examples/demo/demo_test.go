package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil || cfg.duration != time.Minute || cfg.keep || cfg.addr != "127.0.0.1:7777" || cfg.addrSet || cfg.scale != 1 {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	cfg, err = parseFlags([]string{"-duration", "15s", "-keep", "-addr", "127.0.0.1:0", "-scale", "0.5"}, io.Discard)
	if err != nil || cfg.duration != 15*time.Second || !cfg.keep || !cfg.addrSet || cfg.scale != 0.5 {
		t.Fatalf("flags: %+v %v", cfg, err)
	}
	for _, args := range [][]string{
		{"-duration", "1s"}, {"-duration", "2h"}, {"-duration", "soon"},
		{"-scale", "0"}, {"-scale", "NaN"}, {"-scale", "100"},
		{"extra"}, {"-nope"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestHistQuantile(t *testing.T) {
	var h hist
	if h.quantile(0.99) != 0 {
		t.Error("empty histogram has a quantile")
	}
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	h.add(-time.Second) // clamps into the first bucket
	h.add(time.Hour)    // clamps into the last
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.05 {
			t.Errorf("q%.2f = %v, want %v within one bucket (5%%)", c.q, got, c.want)
		}
	}
	if got := h.quantile(1); got < 99*time.Second {
		t.Errorf("max = %v, want the last bucket", got)
	}
}

func TestPhaseAt(t *testing.T) {
	total := 100 * time.Second
	for _, c := range []struct {
		at    time.Duration
		phase int
		start time.Duration
	}{
		{0, 0, 0}, {19 * time.Second, 0, 0}, {20 * time.Second, 1, 20 * time.Second},
		{44 * time.Second, 1, 20 * time.Second}, {45 * time.Second, 2, 45 * time.Second},
		{99 * time.Second, 3, 75 * time.Second}, {500 * time.Second, 3, 75 * time.Second},
	} {
		if p, s := phaseAt(c.at, total); p != c.phase || s != c.start {
			t.Errorf("phaseAt(%v) = %d, %v; want %d, %v", c.at, p, s, c.phase, c.start)
		}
	}
	sum := 0.0
	for _, p := range script {
		sum += p.share
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("phase shares sum to %v", sum)
	}
}

func TestBackendAndFront(t *testing.T) {
	f := new(faults)
	be := httptest.NewServer(newBackend(f, 2, 100))
	defer be.Close()
	fe := httptest.NewServer(newFront(be.URL, newClient(0), nil))
	defer fe.Close()
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, fe.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/api/products/7", 200},
		{http.MethodPost, "/api/checkout", 200},
		{http.MethodGet, "/api/recommendations", 200},
		{http.MethodGet, "/api/checkout", 404},
		{http.MethodGet, "/api/products/", 404},
	} {
		if got := get(c.method, c.path); got != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, got, c.code)
		}
	}
	f.set(1, 0) // the dependency fails: the front answers 502
	if got := get(http.MethodGet, "/api/recommendations"); got != http.StatusBadGateway {
		t.Errorf("failing dependency: %d, want 502", got)
	}
	if got := get(http.MethodGet, "/api/products/1"); got != 200 {
		t.Errorf("products while recommendations fail: %d, want 200", got)
	}
	f.set(1, backendTimeout+100*time.Millisecond) // hangs past the front's patience: 504
	if got := get(http.MethodGet, "/api/recommendations"); got != http.StatusGatewayTimeout {
		t.Errorf("hanging dependency: %d, want 504", got)
	}
}

func TestBackendQueueBound(t *testing.T) {
	be := httptest.NewServer(newBackend(new(faults), 1, 0)) // no room to wait
	defer be.Close()
	res, err := http.Get(be.URL + "/products/1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("full queue: %d, want 503", res.StatusCode)
	}
}

// TestRunPrintsTableAndSummary runs the whole demo briefly, at a small
// scale, and stops it as Ctrl-C would.
func TestRunPrintsTableAndSummary(t *testing.T) {
	var out bytes.Buffer
	cfg := config{duration: 10 * time.Second, addr: "127.0.0.1:0", addrSet: true, scale: 0.25, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"dashboard at http://127.0.0.1:", "phase 1/4 healthy", "GET /api/products/:id",
		"with Atrion", "without", "Summary", "whole run", "served/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\x1b[") {
		t.Error("ANSI codes written to a non-terminal")
	}
}

// When the default dashboard port is taken, the demo says where the
// dashboard went instead.
func TestPortFallbackIsAnnounced(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var out bytes.Buffer
	cfg := config{duration: 10 * time.Second, addr: busy.Addr().String(), scale: 0.25, out: &out} // addr not set by the user
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stop at once, as Ctrl-C would
	if err := run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if want := "demo: " + busy.Addr().String() + " is not free"; !strings.Contains(s, want) || !strings.Contains(s, "the dashboard is at http://127.0.0.1:") {
		t.Errorf("output lacks the fallback (%q):\n%s", want, s)
	}
	// a port the user chose is not replaced: the demo fails instead
	cfg.addrSet = true
	if err := run(ctx, cfg); err == nil {
		t.Error("a taken -addr did not fail")
	}
}

// At a terminal the dashboard stays up after the summary until Enter;
// without one (tests, CI, a pipe) the demo does not wait.
func TestDashboardHeldUntilEnter(t *testing.T) {
	var out bytes.Buffer
	in, enter := io.Pipe()
	done := make(chan struct{})
	go func() {
		holdDashboard(context.Background(), config{out: &out, hold: in}, "http://127.0.0.1:7777")
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("returned before Enter")
	case <-time.After(100 * time.Millisecond):
	}
	enter.Write([]byte("\n"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Enter did not end the wait")
	}
	if !strings.Contains(out.String(), "stays up at http://127.0.0.1:7777/ — press Enter or Ctrl-C") {
		t.Errorf("output %q", out.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C
	holdDashboard(ctx, config{out: io.Discard, hold: strings.NewReader("")}, "u")
	out.Reset()
	holdDashboard(context.Background(), config{out: &out}, "u") // no terminal
	if out.Len() != 0 {
		t.Errorf("without a terminal the demo printed %q", out.String())
	}
}

// make demo says what it does before the first compile, which takes
// minutes on a fresh machine: the first line of its recipe is a message,
// ahead of the build (which then speaks through tools/cmd/progress).
func TestMakeDemoSpeaksBeforeCompiling(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, ok := strings.Cut(string(mk), "\ndemo:\n")
	if !ok {
		t.Fatal("no demo target in the Makefile")
	}
	lines := strings.Split(recipe, "\n")
	build := -1
	for i, l := range lines {
		if !strings.HasPrefix(l, "\t") {
			break
		}
		if strings.Contains(l, "$(GO) build") || strings.Contains(l, "$(GO) run") {
			build = i
			break
		}
	}
	if build < 1 || !strings.Contains(lines[0], "echo") || !strings.Contains(lines[0], "minute") {
		t.Errorf("the demo recipe does not announce the compile first:\n%s", strings.Join(lines[:max(build+1, 2)], "\n"))
	}
}
