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
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.skipper(c) {
				return next(c)
			}
			p := atrion.PriorityNormal
			if cfg.priority != nil {
				p = cfg.priority(c)
			}
			t, d := a.Admit(cfg.route(c), p)
			if !d.Allowed {
				return cfg.reject(c, d)
			}
			served := false
			defer func() {
				if !served { // the handler panicked: a failure; the panic goes on
					t.Done(atrion.Failure)
				}
			}()
			err := next(c)
			served = true
			t.Done(cfg.classify(c, err))
			return err
		}
	}
}

// echo's handlers for requests that match no route, by code pointer
var (
	notFound         = reflect.ValueOf(echo.NotFoundHandler).Pointer()
	methodNotAllowed = reflect.ValueOf(echo.MethodNotAllowedHandler).Pointer()
)

func (cfg *config) route(c echo.Context) string {
	if cfg.routeID != nil {
		if id := cfg.routeID(c); id != "" {
			return id
		}
		return atrion.UnmatchedRoute
	}
	if h := reflect.ValueOf(c.Handler()).Pointer(); h == notFound || h == methodNotAllowed {
		return atrion.UnmatchedRoute
	}
	return cfg.ids.ID(c.Request().Method, c.Path())
}
