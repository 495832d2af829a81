// Package httpx is what the HTTP adapters (atrhttp, atrgin, atrecho for
// echo v4 and v5, atrfiber for fiber v2 and v3) share beyond the guard
// flow: the route ID scheme, the classification of a finished exchange,
// the rejection response, and the priority header (which atrgrpc reads
// from metadata too: gRPC's metadata are HTTP/2 headers). It is internal:
// the adapters' own options are the public API, and core stays free of
// HTTP.
package httpx

import (
	"strings"
	"sync"
	"sync/atomic"

	atrion "github.com/atrion-go/atrion/core"
)

// NumMethods is the number of standard HTTP methods: GET, HEAD, POST,
// PUT, PATCH, DELETE, OPTIONS, CONNECT and TRACE.
const NumMethods = 9

// MethodIndex returns a standard HTTP method's index, in the order of
// NumMethods, or -1 for any other method (case matters, as in HTTP).
// Adapters index per-method tables with it rather than hashing the method.
func MethodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	}
	return -1
}

// maxInterned bounds a Routes cache. Route templates come from the
// application's router, so real applications stay far below it; past it
// handles are made per call (allocating) and the engine's route cap
// applies.
const maxInterned = 4096

type routeKey struct{ method, template string }

// table is a published, immutable set of handles.
type table struct {
	std   [NumMethods]map[string]*atrion.Handle // by template, per standard method (MethodIndex)
	other map[routeKey]*atrion.Handle           // any other method
	n     int
}

func newTable(all map[routeKey]*atrion.Handle) *table {
	t := &table{other: map[routeKey]*atrion.Handle{}, n: len(all)}
	for k, h := range all {
		if i := MethodIndex(k.method); i >= 0 {
			if t.std[i] == nil {
				t.std[i] = map[string]*atrion.Handle{}
			}
			t.std[i][k.template] = h
		} else {
			t.other[k] = h
		}
	}
	return t
}

func (t *table) get(method, template string) *atrion.Handle {
	if i := MethodIndex(method); i >= 0 {
		return t.std[i][template]
	}
	return t.other[routeKey{method, template}]
}

// Routes interns an engine's HTTP routes by method and route template:
// each gets the route ID "METHOD template" (one space, e.g.
// "GET /users/:id") and a Handle, so that an adapter finds a request's
// route with one lookup keyed by its template and admits it without
// allocating or looking the ID up again. Templates must come from the
// router's own table (never a raw path): each route interned, and the
// unmatched route, holds a reserved slot in the engine
// (atrion.Atrion.Reserve). It is safe for concurrent use.
type Routes struct {
	a         *atrion.Atrion
	unmatched *atrion.Handle
	read      atomic.Pointer[table] // immutable once published

	mu     sync.Mutex
	all    map[routeKey]*atrion.Handle // every interned route, published or not
	misses int                         // lookups that needed the lock since the last publication
}

// NewRoutes returns an empty Routes for a's routes.
func NewRoutes(a *atrion.Atrion) *Routes {
	c := &Routes{a: a, unmatched: a.Handle(atrion.UnmatchedRoute), all: map[routeKey]*atrion.Handle{}}
	_ = a.Reserve(atrion.UnmatchedRoute) // cannot fail: a valid ID, and the first reservation fits any cap
	c.read.Store(newTable(nil))
	return c
}

// Handle returns the handle of route "METHOD template", or of
// atrion.UnmatchedRoute when template is empty (the router matched no
// route).
func (c *Routes) Handle(method, template string) *atrion.Handle {
	if template == "" {
		return c.unmatched
	}
	if h := c.read.Load().get(method, template); h != nil {
		return h
	}
	return c.slow(method, template)
}

// slow finds or adds a route under the lock. As in sync.Map, new routes
// are published once the misses since the last publication outnumber the
// published routes, so interning n routes copies O(n) entries in all.
func (c *Routes) slow(method, template string) *atrion.Handle {
	c.mu.Lock()
	defer c.mu.Unlock()
	read := c.read.Load()
	if h := read.get(method, template); h != nil {
		return h
	}
	h, ok := c.all[routeKey{method, template}]
	if !ok {
		h = c.a.Handle(method + " " + template)
		if len(c.all) >= maxInterned {
			return h
		}
		// a template the router matched is from the application's route
		// table: it gets a reserved slot, so junk that filled the engine's
		// table never pushes it into the overflow route. Past the cap on
		// reservations (or for an over-long ID) it is an ordinary route.
		_ = c.a.Reserve(h.ID())
		// the key's strings may live in a request's buffers (fiber reuses
		// them): keep private copies
		c.all[routeKey{strings.Clone(method), strings.Clone(template)}] = h
	}
	c.misses++
	if c.misses > read.n {
		c.read.Store(newTable(c.all))
		c.misses = 0
	}
	return h
}
