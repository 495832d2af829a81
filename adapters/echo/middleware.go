// Package atrecho guards echo applications with Atrion:
//
//	e := echo.New()
//	e.Use(atrecho.Middleware(a))
//
// Route IDs read "METHOD template" from the matched route's template,
// e.g. "GET /users/:id", never the raw path; requests that match no route
// (echo's 404 and 405 handlers) share one route, atrion.UnmatchedRoute.
// Register the middleware with e.Use (or on a group), not e.Pre: before
// routing, echo does not know the route.
package atrecho

import (
	"context"
	"reflect"

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
	cfg := newConfig(opts)
	g := &cfg.Guard
	g.Bind(a)
	g.Context = func(c echo.Context) context.Context { return c.Request().Context() }
	g.SetContext = func(c echo.Context, ctx context.Context) { c.SetRequest(c.Request().WithContext(ctx)) }
	g.Template = template
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return g.Serve(c, next) }
	}
}

// echo's handlers for requests that match no route, by code pointer
var (
	notFound         = reflect.ValueOf(echo.NotFoundHandler).Pointer()
	methodNotAllowed = reflect.ValueOf(echo.MethodNotAllowedHandler).Pointer()
)

// template is the matched route's template; "" for echo's 404 and 405
// handlers, whose c.Path() is only the nearest node of the tree.
func template(c echo.Context) (method, path string) {
	if h := reflect.ValueOf(c.Handler()).Pointer(); h == notFound || h == methodNotAllowed {
		return c.Request().Method, ""
	}
	return c.Request().Method, c.Path()
}
