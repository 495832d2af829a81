package httpx

import (
	"strconv"
	"sync"
	"testing"
	"unsafe"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func newTestRoutes(t *testing.T) *Routes {
	t.Helper()
	a, _ := atriontest.New(t)
	return NewRoutes(a)
}

func TestMethodIndex(t *testing.T) {
	seen := map[int]bool{}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		i := MethodIndex(m)
		if i < 0 || i >= NumMethods || seen[i] {
			t.Fatalf("MethodIndex(%q) = %d", m, i)
		}
		seen[i] = true
	}
	for _, m := range []string{"get", "PROPFIND", "", "GET "} {
		if i := MethodIndex(m); i != -1 {
			t.Errorf("MethodIndex(%q) = %d, want -1", m, i)
		}
	}
}

func TestRoutes(t *testing.T) {
	rs := newTestRoutes(t)
	if got := rs.Handle("GET", "").ID(); got != atrion.UnmatchedRoute {
		t.Fatalf("empty template: %q, want %q", got, atrion.UnmatchedRoute)
	}
	first := rs.Handle("GET", "/users/:id")
	if first.ID() != "GET /users/:id" {
		t.Fatalf("ID = %q", first.ID())
	}
	if again := rs.Handle("GET", "/users/:id"); again != first {
		t.Fatal("second lookup returned another handle")
	}
	if got := rs.Handle("POST", "/users/:id").ID(); got != "POST /users/:id" {
		t.Fatalf("other method: %q", got)
	}
	for range 3 { // a non-standard method, published after a few misses
		if got := rs.Handle("PROPFIND", "/dav/*").ID(); got != "PROPFIND /dav/*" {
			t.Fatalf("custom method: %q", got)
		}
	}
	if n := testing.AllocsPerRun(200, func() { _ = rs.Handle("PROPFIND", "/dav/*") }); n != 0 {
		t.Fatalf("custom-method lookup allocates %v times", n)
	}
	if n := testing.AllocsPerRun(200, func() { _ = rs.Handle("GET", "/users/:id") }); n != 0 {
		t.Fatalf("interned lookup allocates %v times", n)
	}
	tk, d := first.Admit(atrion.PriorityNormal)
	if !d.Allowed || tk.Route() != "GET /users/:id" {
		t.Fatalf("admitted %v on %q", d.Allowed, tk.Route())
	}
}

// A key built in a reused buffer must not change the interned map when the
// buffer is overwritten (fiber hands out such strings).
func TestRoutesCopiesKeys(t *testing.T) {
	rs := newTestRoutes(t)
	buf := []byte("/a")
	tmpl := unsafe.String(&buf[0], len(buf)) // aliases buf, as fiber's strings do
	_ = rs.Handle("GET", tmpl)
	buf[1] = 'b'
	if got := rs.Handle("GET", "/a").ID(); got != "GET /a" {
		t.Fatalf("after buffer reuse: %q", got)
	}
}

func TestRoutesBoundedAndConcurrent(t *testing.T) {
	rs := newTestRoutes(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range maxInterned/2 + 100 {
				tmpl := "/r/" + strconv.Itoa(i)
				if got := rs.Handle("GET", tmpl).ID(); got != "GET "+tmpl {
					t.Errorf("goroutine %d: %q", g, got)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range maxInterned + 10 {
		tmpl := "/x/" + strconv.Itoa(i)
		if got := rs.Handle("PUT", tmpl).ID(); got != "PUT "+tmpl { // past the cap: still right, just not kept
			t.Fatalf("past the cap: %q", got)
		}
	}
	rs.mu.Lock()
	n := max(rs.read.Load().n, len(rs.all))
	rs.mu.Unlock()
	if n > maxInterned {
		t.Fatalf("cache holds %d routes, cap %d", n, maxInterned)
	}
}
