// Package atrecho guards echo applications with Atrion:
//
//	e := echo.New()
//	e.Use(atrecho.Middleware(a))
//
// Route IDs read "METHOD template" from the matched route's template,
// e.g. "GET /users/:id", never the raw path. A request counts as matched
// only when the Echo has a route for its method and template (read from
// e.Routes() and its host routers); everything else — echo's 404 and 405
// answers, handlers registered with e.RouteNotFound (a catch-all
// e.RouteNotFound("/*") included), whatever method a client invents —
// shares one route, atrion.UnmatchedRoute. The Echo's routes are read on
// its first request, and again at most once a second when a request
// matches none of them (a route registered later), and each holds a
// reserved slot in the engine (atrion.Atrion.Reserve), so junk can never
// push it into the overflow route. Register the middleware with e.Use (or
// on a group), not e.Pre: before routing, echo does not know the route.
package atrecho

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v4"
)

// Middleware returns echo middleware that guards every request with a. It
// derives the route ID, asks a.Admit, rejects with RejectHandler (503,
// jittered Retry-After, JSON body) when the route sheds, and otherwise
// calls the handler, times it and records its outcome from the returned
// error or the written status (DefaultClassifier; a panic is a failure and
// goes on unchanged, to middleware.Recover or the server).
func Middleware(a *atrion.Atrion, opts ...Option) echo.MiddlewareFunc {
	guard.NeedEngine(a, "atrecho.Middleware")
	return (&chains{g: newGuard(a, opts)}).wrap
}

// newGuard is the guard that opts configure, bound to a.
func newGuard(a *atrion.Atrion, opts []Option) *guard.Guard[echo.Context] {
	g := &newConfig(opts).Guard
	t := &routeTable{}
	g.Handle = t.handle
	g.Status = status
	g.Context = func(c echo.Context) context.Context { return c.Request().Context() }
	g.WithContext = func(c echo.Context, ctx context.Context) echo.Context {
		c.SetRequest(c.Request().WithContext(ctx))
		return c
	}
	g.Bind(a)
	t.routes = g.Routes()
	return g
}

// maxChains bounds a chains cache: about one entry per route handler.
const maxChains = 4096

// chains keeps the guarded handler made for each next handler. Echo v4
// applies e.Use middleware to the matched route's handler on every
// request, so a middleware that made a new closure each time would cost
// an allocation per request; handlers are long-lived, so the one made
// the first time is handed out again.
type chains struct {
	g     *guard.Guard[echo.Context]
	made  sync.Map // handlerKey(next) → the guarded next
	count atomic.Int32
}

// wrap is the middleware: next, guarded.
func (m *chains) wrap(next echo.HandlerFunc) echo.HandlerFunc {
	key := handlerKey(next)
	if h, ok := m.made.Load(key); ok {
		return h.(echo.HandlerFunc)
	}
	g := m.g
	h := echo.HandlerFunc(func(c echo.Context) error { return g.Serve(c, next) })
	// a next made per request (by a middleware inside this one) is never
	// seen again: past the bound such nexts get a closure each, as any
	// middleware's
	if m.count.Load() < maxChains {
		if _, seen := m.made.LoadOrStore(key, h); !seen {
			m.count.Add(1)
		}
	}
	return h
}

// handlerKey is f's identity: the address of its function value, unique
// among live functions (Go's collector does not move objects, and the
// cache keeps every f it holds alive).
func handlerKey(f echo.HandlerFunc) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&f))
}

// rereadEvery bounds how often a request that matches no known route makes
// the table read the Echo's routes again (a variable for the tests).
var rereadEvery = time.Second

// routeTable knows which methods and templates an Echo's routers serve, and
// holds their handles, so that a request echo matched to a route is told
// from one that it answered with a 404 or 405 handler or a RouteNotFound
// handler — whose c.Path() is a template too — without comparing handler
// pointers, and finds its handle in the same lookup.
type routeTable struct {
	routes *httpx.Routes
	cur    atomic.Pointer[routeSet] // immutable once published
	mu     sync.Mutex
}

// routeSet is one reading of an Echo's routes.
type routeSet struct {
	e      *echo.Echo
	std    map[string]*[httpx.NumMethods]*atrion.Handle // template → its handle per standard method (httpx.MethodIndex), nil where not served
	other  map[[2]string]*atrion.Handle                 // {method, template} for other methods (PROPFIND, ...)
	readAt time.Time
}

// handle is the handle of method and template's route, nil when the Echo
// serves no such route.
func (s *routeSet) handle(method, template string) *atrion.Handle {
	if i := httpx.MethodIndex(method); i >= 0 {
		if hs := s.std[template]; hs != nil {
			return hs[i]
		}
		return nil
	}
	return s.other[[2]string{method, template}]
}

// handle is the handle of the request's route; nil when echo served it
// with no route of the request's method.
func (t *routeTable) handle(c echo.Context) *atrion.Handle {
	method, path := c.Request().Method, c.Path()
	e := c.Echo()
	s := t.cur.Load()
	if s == nil || s.e != e {
		s = t.read(e, s)
	}
	if h := s.handle(method, path); h != nil {
		return h
	}
	if time.Since(s.readAt) >= rereadEvery {
		return t.read(e, s).handle(method, path)
	}
	return nil
}

// read reads e's routes unless another request did since seen was
// current, and publishes them with their handles (each route holds a
// reserved slot, through httpx.Routes).
func (t *routeTable) read(e *echo.Echo, seen *routeSet) *routeSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.cur.Load(); s != nil && s != seen && s.e == e {
		return s
	}
	s := &routeSet{e: e, std: map[string]*[httpx.NumMethods]*atrion.Handle{}, other: map[[2]string]*atrion.Handle{}, readAt: time.Now()}
	routes := e.Routes()
	for _, r := range e.Routers() {
		routes = append(routes, r.Routes()...)
	}
	for _, r := range routes {
		if r.Method == echo.RouteNotFound { // serves unknown paths, whatever their method
			continue
		}
		h := t.routes.Handle(r.Method, r.Path)
		if i := httpx.MethodIndex(r.Method); i >= 0 {
			hs := s.std[r.Path]
			if hs == nil {
				hs = new([httpx.NumMethods]*atrion.Handle)
				s.std[r.Path] = hs
			}
			hs[i] = h
		} else {
			s.other[[2]string{r.Method, r.Path}] = h
		}
	}
	t.cur.Store(s)
	return s
}
