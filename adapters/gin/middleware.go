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
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
)

// Middleware returns gin middleware that guards every request with a. It
// derives the route ID, asks a.Admit, rejects with RejectHandler (503,
// jittered Retry-After, JSON body) and aborts when the route sheds, and
// otherwise runs the rest of the chain, times it and records its outcome
// (DefaultClassifier; a panic is a failure and goes on unchanged, to
// gin.Recovery or the server).
func Middleware(a *atrion.Atrion, opts ...Option) gin.HandlerFunc {
	cfg := newConfig(opts)
	return func(c *gin.Context) {
		if cfg.filter != nil && !cfg.filter(c) {
			c.Next()
			return
		}
		p := atrion.PriorityNormal
		if cfg.priority != nil {
			p = cfg.priority(c)
		}
		t, d := a.Admit(cfg.route(c), p)
		if !d.Allowed {
			cfg.reject(c, d)
			c.Abort()
			return
		}
		served := false
		defer func() {
			if !served { // a handler panicked: a failure; the panic goes on
				t.Done(atrion.Failure)
			}
		}()
		c.Next()
		served = true
		t.Done(cfg.classify(c))
	}
}

func (cfg *config) route(c *gin.Context) string {
	if cfg.routeID != nil {
		if id := cfg.routeID(c); id != "" {
			return id
		}
		return atrion.UnmatchedRoute
	}
	return cfg.ids.ID(c.Request.Method, c.FullPath())
}
