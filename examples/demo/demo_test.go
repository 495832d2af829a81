package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
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
