// Package atrecho guards echo v5 applications with Atrion:
//
//	e := echo.New()
//	e.Use(atrecho.Middleware(a))
//
// Route IDs read "METHOD template" from the matched route's template,
// e.g. "GET /users/:id", never the raw path; requests that echo's router
// matches to no route (its 404 and 405 answers, OPTIONS without a route,
// handlers registered with e.RouteNotFound, a catch-all included) share
// one route, atrion.UnmatchedRoute, whatever method a client invents. A
// method that no standard names, on a route registered with e.Any, is
// OtherMethods. The Echo's routes hold reserved slots in the engine
// (atrion.Atrion.Reserve) from its first request on, so junk never pushes
// them into the overflow route. Register the middleware with e.Use (or on
// a group), not e.Pre: before routing, echo does not know the route.
//
// This is the module for echo v5 (github.com/atrion-go/atrion/adapters/echov5);
// echo v4 has its own, github.com/atrion-go/atrion/adapters/echo.
package atrecho

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v5"
)

// Middleware returns echo middleware that guards every request with a. It
// derives the route ID, asks a.Admit, rejects with RejectHandler (503,
// jittered Retry-After, JSON body) when the route sheds, and otherwise
// calls the handler, times it and records its outcome from the returned
// error or the written status (DefaultClassifier; a panic is a failure and
// goes on unchanged, to middleware.Recover or the server).
func Middleware(a *atrion.Atrion, opts ...Option) echo.MiddlewareFunc {
	guard.NeedEngine(a, "atrecho.Middleware")
	g := &newConfig(opts).Guard
	m := &matchedRoutes{a: a}
	g.Handle = m.handle
	g.Status = status
	g.Context = func(c *echo.Context) context.Context { return c.Request().Context() }
	g.WithContext = func(c *echo.Context, ctx context.Context) *echo.Context {
		c.SetRequest(c.Request().WithContext(ctx))
		return c
	}
	g.Bind(a)
	m.routes = g.Routes()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error { return g.Serve(c, next) }
	}
}

// OtherMethods stands for the request's method in the route IDs of
// requests with a non-standard method (anything but GET, HEAD, POST, PUT,
// PATCH, DELETE, OPTIONS, CONNECT and TRACE) served by a route registered
// with e.Any, e.g. "OTHER /files/*": such routes match whatever method a
// client invents. It is atrhttp.OtherMethods.
const OtherMethods = "OTHER"

// matchedRoutes remembers the handles of the templates echo matched to a
// route, per standard method, so that c.RouteInfo(), which tells a route
// from echo's 404 and 405 answers but copies the route's parameter names,
// runs once per template and method rather than per request, and the
// handle is found in the same lookup. A template echo answers 404 or 405
// for is asked again each time: that answer carries no parameters, so it
// costs no allocation.
type matchedRoutes struct {
	a      *atrion.Atrion
	routes *httpx.Routes
	cur    atomic.Pointer[matchedSet] // immutable once published
	mu     sync.Mutex
}

// matchedSet is what one Echo matched.
type matchedSet struct {
	e       *echo.Echo
	handles map[string]*[httpx.NumMethods]*atrion.Handle // template → its handle per standard method (httpx.MethodIndex), nil where not matched yet
}

// handle is the handle of the request's route; nil for requests echo's
// router matched to no route, whose c.Path() is only the nearest node of
// the tree.
func (m *matchedRoutes) handle(c *echo.Context) *atrion.Handle {
	method, path := c.Request().Method, c.Path()
	i := httpx.MethodIndex(method)
	if s := m.cur.Load(); i >= 0 && s != nil && s.e == c.Echo() {
		if hs := s.handles[path]; hs != nil && hs[i] != nil {
			return hs[i]
		}
	}
	ri := c.RouteInfo()
	switch {
	case ri.Name == echo.NotFoundRouteName || ri.Name == echo.MethodNotAllowedRouteName || ri.Method == echo.RouteNotFound:
		return nil
	case i < 0 && ri.Method == echo.RouteAny:
		// any token a client sends matches e.Any: one route for all the
		// others keeps the table bounded
		return m.routes.Handle(OtherMethods, path)
	case i < 0:
		return m.routes.Handle(method, path)
	}
	return m.add(c.Echo(), path, i, method)
}

// add records that e matched template for the standard method i and
// returns the route's handle.
func (m *matchedRoutes) add(e *echo.Echo, template string, i int, method string) *atrion.Handle {
	m.mu.Lock()
	defer m.mu.Unlock()
	handles := map[string]*[httpx.NumMethods]*atrion.Handle{}
	if s := m.cur.Load(); s != nil && s.e == e {
		for k, v := range s.handles {
			handles[k] = v
		}
	} else { // another Echo starts afresh
		m.reserve(e)
	}
	hs := new([httpx.NumMethods]*atrion.Handle)
	if old := handles[template]; old != nil {
		*hs = *old // published arrays stay as they are
	}
	hs[i] = m.routes.Handle(method, template)
	handles[template] = hs
	m.cur.Store(&matchedSet{e: e, handles: handles})
	return hs[i]
}

// reserve gives e's routes of standard methods reserved slots in the
// engine (atrion.Atrion.Reserve), so that junk never pushes them into the
// overflow route; the others (e.Any's OTHER) are reserved when first
// matched. Past the cap on reservations they are ordinary routes.
func (m *matchedRoutes) reserve(e *echo.Echo) {
	var ids []string
	for _, r := range e.Router().Routes() {
		if httpx.MethodIndex(r.Method) >= 0 {
			ids = append(ids, r.Method+" "+r.Path)
		}
	}
	_ = m.a.Reserve(ids...)
}
