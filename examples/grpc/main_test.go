package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunBoth runs server and client in one process on loopback, fast
// (10 ms ticks): while the server's method fails, the client's circuit for
// it opens and the client sheds calls locally. (Which side opens first
// depends on timing: the client sees every failure the server records,
// plus the server's rejections.)
func TestRunBoth(t *testing.T) {
	var out strings.Builder // run's writes are serialised by its syncWriter; read after it returns
	cfg := config{mode: "both", duration: 1500 * time.Millisecond, tick: 10 * time.Millisecond,
		failAt: 200 * time.Millisecond, failFor: time.Second}
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if !strings.Contains(log, "server: listening on 127.0.0.1:") {
		t.Errorf("the server did not report its address:\n%s", log)
	}
	tripped := false
	for _, line := range strings.Split(log, "\n") {
		tripped = tripped || strings.HasPrefix(line, "client: ") && strings.Contains(line, "OPERATIONAL → CIRCUIT_OPEN")
	}
	if !tripped {
		t.Errorf("the client's circuit never opened:\n%s", log)
	}
	if !strings.Contains(log, "shed-locally=") || strings.Count(log, "shed-locally=   0") == strings.Count(log, "shed-locally=") {
		t.Errorf("the client never shed a call locally:\n%s", log)
	}
}

// Bad command lines are refused before anything listens or dials.
func TestRunRefuses(t *testing.T) {
	for _, cfg := range []config{
		{mode: "server", addr: "192.0.2.1:50051"},
		{mode: "client", addr: "example.com:50051"},
		{mode: "client", addr: "no-port"},
		{mode: "proxy"},
		{mode: "both", duration: -time.Second},
		{mode: "both", failFor: -time.Second},
	} {
		if err := run(context.Background(), cfg, &strings.Builder{}); err == nil {
			t.Errorf("run(%+v) = nil, want an error", cfg)
		}
	}
}
