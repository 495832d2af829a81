package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is the log, written by the engine and read by the test.
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

// TestRun runs the example fast (5 ms ticks) on loopback until the
// payments circuit has opened: the log must have a JSON transition line
// and /metrics the route's series and its transitions.
func TestRun(t *testing.T) {
	var log syncBuffer
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: "127.0.0.1:0", duration: 20 * time.Second, tick: 5 * time.Millisecond}, &log,
			func(a string) { addr <- a })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + <-addr + "/metrics"

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), `"route":"POST /payments","from":"OPERATIONAL","to":"CIRCUIT_OPEN"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no transition to CIRCUIT_OPEN logged in 15s; log:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sc := bufio.NewScanner(strings.NewReader(log.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
		} else if rec["msg"] == "atrion transition" && (rec["route"] == nil || rec["from"] == nil || rec["to"] == nil) {
			t.Errorf("transition line %v", rec)
		}
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`atrion_route_mode{mode="OPERATIONAL",route="GET /users/:id"} 1`,
		`atrion_mode_transitions_total{from="OPERATIONAL",route="POST /payments",to="CIRCUIT_OPEN"}`,
		`atrion_requests_total{decision="circuit_open",route="POST /payments"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// TestRunBadConfig checks that bad flags end with a clear error, not a
// hang.
func TestRunBadConfig(t *testing.T) {
	cases := map[string]config{
		"negative duration": {addr: "127.0.0.1:0", duration: -time.Second, tick: 100 * time.Millisecond},
		"bad address":       {addr: "127.0.0.1:99999", duration: time.Second, tick: 100 * time.Millisecond},
		"bad tick":          {addr: "127.0.0.1:0", duration: time.Second, tick: time.Hour},
	}
	for name, cfg := range cases {
		if err := run(context.Background(), cfg, io.Discard, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
