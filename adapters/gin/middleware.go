// Package atrgin guards gin applications with Atrion:
//
//	r := gin.New()
//	r.Use(atrgin.Middleware(a))
//
// Route IDs read "METHOD template" from the matched route's template,
// e.g. "GET /users/:id", never the raw path; requests that match no route
// share one route, atrion.UnmatchedRoute.
package atrgin

import (
	"context"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
)

// Middleware returns gin middleware that guards every request with a. It
// derives the route ID, asks a.Admit, rejects with RejectHandler (503,
// jittered Retry-After, JSON body) and aborts when the route sheds, and
// otherwise runs the rest of the chain, times it and records its outcome
// (DefaultClassifier; a panic is a failure and goes on unchanged, to
// gin.Recovery or the server).
//
// Call r.Use(atrgin.Middleware(a)) before registering routes: gin gives
// r.Use only to the routes registered after it, so a route registered
// before is served unguarded and never tracked. The middleware cannot see
// the engine it is added to, so it cannot say so; the test
// TestUseAfterRoutesLeavesThemUnguarded pins this behaviour.
func Middleware(a *atrion.Atrion, opts ...Option) gin.HandlerFunc {
	guard.NeedEngine(a, "atrgin.Middleware")
	g := &newConfig(opts).Guard
	g.Template = func(c *gin.Context) (string, string) { return c.Request.Method, c.FullPath() }
	g.Status = func(c *gin.Context, _ error) int { return c.Writer.Status() }
	g.Context = func(c *gin.Context) context.Context { return c.Request.Context() }
	g.WithContext = func(c *gin.Context, ctx context.Context) *gin.Context {
		c.Request = c.Request.WithContext(ctx)
		return c
	}
	g.Retry = func(c *gin.Context) bool {
		v := c.Request.Header[hop.PreviousAttemptsHeader]
		return len(v) == 1 && hop.Retry(v[0])
	}
	g.Bind(a)
	return func(c *gin.Context) { g.Serve(c, next) }
}

// next runs the rest of gin's chain; errors travel in c.Errors.
func next(c *gin.Context) error {
	c.Next()
	return nil
}
