package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The example serves with its file's configuration, takes an edited file
// and a SIGHUP, and keeps its configuration when the file goes bad.
func TestReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "atrion.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"routes": {"GET /search": {"physics": {"breakMultiplier": 6}}}}`)
	var logs syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", path, &logs, ready) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("did not start")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	breakPoint := func() float64 {
		t.Helper()
		res, err := c.Get(base + "/search")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		res, err = c.Get(base + "/routes")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var snaps []struct {
			Route      string
			BreakPoint float64
		}
		json.NewDecoder(res.Body).Decode(&snaps)
		for _, s := range snaps {
			if s.Route == "GET /search" {
				return s.BreakPoint
			}
		}
		return 0
	}
	waitFor := func(want float64, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if breakPoint() == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: break point %v, want %v; log:\n%s", what, breakPoint(), want, logs.String())
	}
	waitFor(60, "from the file")
	time.Sleep(1100 * time.Millisecond) // a new modification time
	write(`{"routes": {"GET /search": {"physics": {"breakMultiplier": 4}}}}`)
	waitFor(40, "after an edit")
	write(`{"routes": {"GET /search": {"physics": {"breakMultiplier": -4}}}}`)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(logs.String(), "SIGHUP: configuration refused") {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "SIGHUP: configuration refused") || !strings.Contains(logs.String(), "BreakMultiplier") {
		t.Fatalf("a bad file on SIGHUP: want it refused with the field named; log:\n%s", logs.String())
	}
	if bp := breakPoint(); bp != 40 {
		t.Fatalf("a refused file changed the break point to %v", bp)
	}
}
