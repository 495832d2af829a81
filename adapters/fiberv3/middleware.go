// Package atrfiber guards fiber v3 applications with Atrion:
//
//	app := fiber.New()
//	app.Use(atrfiber.New(a))
//
// Route IDs read "METHOD template", e.g. "GET /users/:id", never the raw
// path; requests that no route will serve share one route,
// atrion.UnmatchedRoute. HEAD requests that fiber serves with a GET
// route's handlers (its automatic HEAD routes) are "HEAD template".
//
// In a global app.Use middleware fiber v3, like v2, knows the route only
// after c.Next(), too late to shed, so the middleware finds the template
// before the handler runs from the app's registered routes, as fiber's
// router would: the first route of the request's method, in registration
// order, that matches. It rebuilds its table when routes are added or
// removed (RemoveRoute).
// Templates with constraints (":id<int>") or several parameters in one
// segment (":from-:to") are matched through fiber.RoutePatternMatch, which
// allocates; everything else is matched without allocating. The same
// middleware also works per route: app.Get("/users/:id", atrfiber.New(a), h).
//
// This is the module for fiber v3 (github.com/atrion-go/atrion/adapters/fiberv3);
// fiber v2 has its own, github.com/atrion-go/atrion/adapters/fiber.
package atrfiber

import (
	"context"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/fiberroute"
	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gofiber/fiber/v3"
)

// New returns fiber middleware that guards every request with a,
// configured by the first config (ConfigDefault when there is none). It
// derives the route ID, asks a.Admit, rejects with RejectHandler (503,
// jittered Retry-After, JSON body) when the route sheds, and otherwise
// calls the next handlers, times them and records their outcome from the
// returned error or the response status (DefaultClassifier; a panic is a
// failure and goes on unchanged, to fiber's recover middleware).
//
// Call app.Use(atrfiber.New(a)) before registering routes: fiber runs
// handlers in registration order, so a route registered before it answers
// its requests without ever reaching the middleware (unless its handler
// calls c.Next()), unguarded and untracked; the test
// TestUseAfterRoutesLeavesThemUnguarded pins this behaviour.
//
// The engine comes first, outside Config, because there is no default for
// it (as the handler of fiber's own timeout middleware).
func New(a *atrion.Atrion, config ...Config) fiber.Handler {
	guard.NeedEngine(a, "atrfiber.New")
	cfg := configDefault(config...)
	g := &guard.Guard[fiber.Ctx]{
		Skip:      cfg.Next,
		RouteID:   cfg.RouteID,
		Priority:  cfg.Priority,
		ClientKey: cfg.ClientKey,
		Status:    status,
		Classify:  cfg.Classifier,
		Reject:    cfg.RejectHandler,

		OnDecision:        cfg.DecisionHook,
		DecisionInContext: cfg.DecisionInContext,
		Context:           fiber.Ctx.Context,
		WithContext: func(c fiber.Ctx, ctx context.Context) fiber.Ctx {
			c.SetContext(ctx)
			return c
		},
	}
	if name := cfg.DeadlineHeader; name != "" {
		g.Deadline = func(c fiber.Ctx) (time.Duration, bool) { return httpx.Deadline(nil, c.Get(name)) }
	}
	routes := &fiberroute.Cache[*fiber.App]{A: a, Version: (*fiber.App).HandlersCount, Routes: appRoutes}
	// the resolver keeps each route's handle ready
	g.Handle = func(c fiber.Ctx) *atrion.Handle { return routes.Handle(c.App(), c.Method(), c.Path()) }
	g.Bind(a)
	return func(c fiber.Ctx) error { return g.Serve(c, fiber.Ctx.Next) }
}

// appRoutes lists app's routes and routing config for the resolver.
func appRoutes(app *fiber.App) ([]fiberroute.Route, fiberroute.Config) {
	var routes []fiberroute.Route
	for _, rt := range app.GetRoutes(true) { // true: without app.Use routes
		routes = append(routes, fiberroute.Route{Method: rt.Method, Path: rt.Path})
	}
	cfg := app.Config()
	return routes, fiberroute.Config{
		CaseSensitive: cfg.CaseSensitive,
		StrictRouting: cfg.StrictRouting,
		Match:         func(path, template string) bool { return fiber.RoutePatternMatch(path, template, cfg) },
	}
}
