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
	g := &newConfig(opts).Guard
	g.Template = (&matchedRoutes{a: a}).template
	g.Context = func(c *echo.Context) context.Context { return c.Request().Context() }
	g.WithContext = func(c *echo.Context, ctx context.Context) *echo.Context {
		c.SetRequest(c.Request().WithContext(ctx))
		return c
	}
	g.Bind(a)
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

// matchedRoutes remembers the templates echo matched to a route, per
// standard method, so that c.RouteInfo(), which tells a route from echo's
// 404 and 405 answers but copies the route's parameter names, runs once
// per template and method rather than per request. A template echo
// answers 404 or 405 for is asked again each time: that answer carries no
// parameters, so it costs no allocation.
type matchedRoutes struct {
	a   *atrion.Atrion
	cur atomic.Pointer[matchedSet] // immutable once published
	mu  sync.Mutex
}

// matchedSet is what one Echo matched.
type matchedSet struct {
	e    *echo.Echo
	bits map[string]uint16 // template → one bit per standard method (httpx.MethodIndex)
}

// template is the request's method and its route's template; "" for
// requests echo's router matched to no route, whose c.Path() is only the
// nearest node of the tree.
func (m *matchedRoutes) template(c *echo.Context) (method, path string) {
	method, path = c.Request().Method, c.Path()
	i := httpx.MethodIndex(method)
	if s := m.cur.Load(); i >= 0 && s != nil && s.e == c.Echo() && s.bits[path]&(1<<i) != 0 {
		return method, path
	}
	ri := c.RouteInfo()
	switch {
	case ri.Name == echo.NotFoundRouteName || ri.Name == echo.MethodNotAllowedRouteName || ri.Method == echo.RouteNotFound:
		return method, ""
	case i < 0 && ri.Method == echo.RouteAny:
		// any token a client sends matches e.Any: one route for all the
		// others keeps the table bounded
		return OtherMethods, path
	case i >= 0:
		m.add(c.Echo(), path, i)
	}
	return method, path
}

// add records that e matched template for the standard method i.
func (m *matchedRoutes) add(e *echo.Echo, template string, i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bits := map[string]uint16{}
	if s := m.cur.Load(); s != nil && s.e == e {
		for k, v := range s.bits {
			bits[k] = v
		}
	} else { // another Echo starts afresh
		m.reserve(e)
	}
	bits[template] |= 1 << i
	m.cur.Store(&matchedSet{e: e, bits: bits})
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
