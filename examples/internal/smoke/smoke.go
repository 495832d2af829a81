// Package smoke starts an example server on loopback and checks that it
// serves and guards its routes, so that every example under examples/
// keeps running.
package smoke

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// Run starts a server with start (which binds 127.0.0.1:0, sends its
// address on ready and serves until ctx ends) and checks GET /users/1
// (200), GET /fail (500) and GET /routes, which must list usersRoute with
// its mode by name.
func Run(t *testing.T, usersRoute string, start func(ctx context.Context, ready chan<- string) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- start(ctx, ready) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	get := func(path string, want int) []byte {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d: %s", path, res.StatusCode, want, b)
		}
		return b
	}
	get("/users/1", http.StatusOK)
	get("/fail", http.StatusInternalServerError)
	// modes print by name: {"Mode":"OPERATIONAL"}, not {"Mode":1}
	var routes []struct {
		Route string
		Mode  json.RawMessage
	}
	if err := json.Unmarshal(get("/routes", http.StatusOK), &routes); err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		var mode string
		if err := json.Unmarshal(r.Mode, &mode); err != nil || mode == "" {
			t.Errorf("GET /routes: %s has mode %s, want its name", r.Route, r.Mode)
		}
		if r.Route == usersRoute {
			return
		}
	}
	t.Fatalf("GET /routes does not list %q: %+v", usersRoute, routes)
}
