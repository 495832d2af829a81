package fiberroute_test

import (
	"net/http"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	"github.com/atrion-go/atrion/adapters/internal/fiberroute"
	"github.com/atrion-go/atrion/adapters/internal/fiberroute/fiberroutetest"
	atrion "github.com/atrion-go/atrion/core"
)

// resolver compiles the differential test's routes; the templates left to
// fiber match nothing here (the differential tests check them).
func resolver(a *atrion.Atrion) *fiberroute.Resolver {
	never := func(string, string) bool { return false }
	return fiberroute.New(fiberroutetest.Routes(), fiberroute.Config{Match: never}, a)
}

// Finding a plain template does not allocate.
func TestFindAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	r := resolver(nil)
	for _, path := range []string{"/USERS/42/posts", "/acme/dashboard", "/files/a/b", "/nope"} {
		if r.Find(http.MethodGet, path) == nil && path != "/nope" {
			t.Fatalf("find(%q): no template", path)
		}
		if n := testing.AllocsPerRun(200, func() { _ = r.Find(http.MethodGet, path) }); n != 0 {
			t.Errorf("find(%q): %v allocs", path, n)
		}
	}
}

// With an engine each template carries the handle of "METHOD template";
// the cache rebuilds when the app's version changes.
func TestCacheHandles(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	type app struct{ version uint32 }
	builds := 0
	c := &fiberroute.Cache[*app]{
		A:       a,
		Version: func(p *app) uint32 { return p.version },
		Routes: func(*app) ([]fiberroute.Route, fiberroute.Config) {
			builds++
			return fiberroutetest.Routes(), fiberroute.Config{}
		},
	}
	p := &app{}
	for range 3 {
		if h := c.Handle(p, http.MethodGet, "/users/7"); h == nil || h.ID() != "GET /users/:id" {
			t.Fatalf("handle %v, want that of GET /users/:id", h)
		}
	}
	if h := c.Handle(p, http.MethodPut, "/users/7"); h != nil {
		t.Fatalf("PUT /users/7: handle %q, want nil (no route)", h.ID())
	}
	p.version++
	c.Handle(p, http.MethodGet, "/users/7")
	c.Handle(&app{}, http.MethodGet, "/users/7") // another app
	if builds != 3 {
		t.Fatalf("%d builds, want 3 (one per app and version)", builds)
	}
}

// Any path: no panic, and the answer is a registered template or nil.
func FuzzFind(f *testing.F) {
	for _, p := range fiberroutetest.Paths {
		f.Add(p)
	}
	r := resolver(nil)
	known := map[string]bool{}
	for _, rt := range fiberroutetest.Routes() {
		known[rt.Path] = true
	}
	f.Fuzz(func(t *testing.T, path string) {
		if got := r.Find(http.MethodGet, path); got != nil && !known[got.Path] {
			t.Fatalf("Find(%q) = %q, not a registered template", path, got.Path)
		}
	})
}
