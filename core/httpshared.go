package atrion

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
)

// This file holds what the four HTTP adapters (net/http, gin, echo, fiber)
// share beyond adapter.go: the route ID scheme, classification of a
// finished exchange, the rejection response and the priority header.

// UnmatchedRoute is the one route ID that HTTP adapters use for every
// request that matches no route of the router (404, 405, ...), whatever its
// method and path, so that unknown paths can never grow the route table.
const UnmatchedRoute = "(unmatched)"

// maxInternedRoutes bounds an HTTPRoutes cache. Route templates come from
// the application's router, so real applications stay far below it; past
// it handles are made per call (allocating) and the engine's route cap
// applies.
const maxInternedRoutes = 4096

type routeKey struct{ method, template string }

// NumHTTPMethods is the number of standard HTTP methods: GET, HEAD, POST,
// PUT, PATCH, DELETE, OPTIONS, CONNECT and TRACE.
const NumHTTPMethods = 9

// HTTPMethodIndex returns a standard HTTP method's index, in the order of
// NumHTTPMethods, or -1 for any other method (case matters, as in HTTP).
// Adapters index per-method tables with it rather than hashing the method.
func HTTPMethodIndex(m string) int {
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

// routeTable is a published, immutable set of handles.
type routeTable struct {
	std   [NumHTTPMethods]map[string]*Handle // by template, per standard method (HTTPMethodIndex)
	other map[routeKey]*Handle               // any other method
	n     int
}

func newRouteTable(all map[routeKey]*Handle) *routeTable {
	t := &routeTable{other: map[routeKey]*Handle{}, n: len(all)}
	for k, h := range all {
		if i := HTTPMethodIndex(k.method); i >= 0 {
			if t.std[i] == nil {
				t.std[i] = map[string]*Handle{}
			}
			t.std[i][k.template] = h
		} else {
			t.other[k] = h
		}
	}
	return t
}

func (t *routeTable) get(method, template string) *Handle {
	if i := HTTPMethodIndex(method); i >= 0 {
		return t.std[i][template]
	}
	return t.other[routeKey{method, template}]
}

// HTTPRoutes interns an engine's HTTP routes by method and route template:
// each gets the route ID "METHOD template" (one space, e.g.
// "GET /users/:id") and a Handle, so that an adapter finds a request's
// route with one lookup keyed by its template and admits it without
// allocating or looking the ID up again. Templates must come from the
// router's own table (never a raw path): each route interned, and the
// unmatched route, holds a reserved slot in the engine (Atrion.Reserve).
// It is safe for concurrent use.
type HTTPRoutes struct {
	a         *Atrion
	unmatched *Handle
	read      atomic.Pointer[routeTable] // immutable once published

	mu     sync.Mutex
	all    map[routeKey]*Handle // every interned route, published or not
	misses int                  // lookups that needed the lock since the last publication
}

// NewHTTPRoutes returns an empty HTTPRoutes for a's routes.
func NewHTTPRoutes(a *Atrion) *HTTPRoutes {
	c := &HTTPRoutes{a: a, unmatched: a.Handle(UnmatchedRoute), all: map[routeKey]*Handle{}}
	_ = a.Reserve(UnmatchedRoute) // cannot fail: a valid ID, and the first reservation fits any cap
	c.read.Store(newRouteTable(nil))
	return c
}

// Handle returns the handle of route "METHOD template", or of
// UnmatchedRoute when template is empty (the router matched no route).
func (c *HTTPRoutes) Handle(method, template string) *Handle {
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
func (c *HTTPRoutes) slow(method, template string) *Handle {
	c.mu.Lock()
	defer c.mu.Unlock()
	read := c.read.Load()
	if h := read.get(method, template); h != nil {
		return h
	}
	h, ok := c.all[routeKey{method, template}]
	if !ok {
		h = c.a.Handle(method + " " + template)
		if len(c.all) >= maxInternedRoutes {
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
		c.read.Store(newRouteTable(c.all))
		c.misses = 0
	}
	return h
}

// ClassifyHTTP classifies a finished HTTP exchange. A request whose
// context was cancelled (the client went away) is Canceled whatever
// happened: a slow sample when the client waited past the route's latency
// baseline, else ignored; a non-nil err (a failed call, an error the
// handler returned without a status) is a Failure; otherwise the status
// decides (ClassifyHTTPStatus: 5xx failure, 4xx ignored, else success).
func ClassifyHTTP(code int, err, ctxErr error) Class {
	switch {
	case ctxErr != nil && errors.Is(ctxErr, context.Canceled):
		return Canceled
	case err != nil:
		return Failure
	default:
		return ClassifyHTTPStatus(code)
	}
}

// ErrorStatus returns the HTTP status for a handler's returned error: the
// status of the first error in err's chain of type E (e.g. *echo.HTTPError,
// *fiber.Error), read with status; 500 for any other error; 0 for nil.
func ErrorStatus[E error](err error, status func(E) int) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[E](err); ok {
		if code := status(e); code >= 100 && code <= 999 {
			return code
		}
	}
	return 500
}

// HTTPRejection returns what an HTTP adapter sends when it rejects a
// request (with status 503): the Retry-After header value, whole seconds of
// the jittered hint, and the small JSON body of AppendRejectionJSON.
func HTTPRejection(d Decision) (retryAfter string, body []byte) {
	retry := JitterRetryAfter(d.RetryAfter)
	return RetryAfterSeconds(retry), AppendRejectionJSON(make([]byte, 0, 96), d, retry)
}

// DefaultPriorityHeader is the request header that adapters' priority
// header options read by default.
const DefaultPriorityHeader = "X-Priority"

// HeaderPriority reads a priority from a header value: a name (critical,
// high, normal, low, bulk; any case, surrounding spaces ignored) or a
// number -2..2. An empty, unknown or out-of-range value is PriorityNormal,
// so a bad header can neither fail a request nor raise it above normal.
//
// A header is set by the client: enable priorities from it only where the
// client is trusted (e.g. behind a gateway that sets it), since a client
// claiming "critical" is shed only by an open circuit.
func HeaderPriority(v string) Priority {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 16 {
		return PriorityNormal
	}
	for i, n := range priorityNames {
		if strings.EqualFold(v, n) {
			return Priority(i - 2)
		}
	}
	p, _ := ParsePriority(v) // the numbers; PriorityNormal when not ok
	return p
}
