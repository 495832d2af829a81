// Package atrhttp guards net/http servers and clients with Atrion:
// Middleware sheds requests to an http.Handler by route, and Transport
// sheds calls to a failing dependency before they leave the process.
//
// Route IDs read "METHOD pattern" (e.g. "GET /users/{id}"), with the
// ServeMux pattern's own method prefix replaced by the request's method, so
// a HEAD request on "GET /users/{id}" is "HEAD /users/{id}". Requests that
// match no pattern share one route, atrion.UnmatchedRoute, and invented
// methods on a pattern without a method share OtherMethods.
package atrhttp

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
)

// patternRouter is what *http.ServeMux offers to find a request's pattern
// before it serves it.
type patternRouter interface {
	Handler(*http.Request) (http.Handler, string)
}

// Middleware returns middleware that guards an http.Handler with a. For
// each request it derives the route ID, asks a.Admit, rejects with
// RejectHandler (503, jittered Retry-After, JSON body) when the route
// sheds, and otherwise runs the handler, times it and records its outcome
// (DefaultClassifier; a panic is a failure and goes on unchanged).
//
// The route ID is the ServeMux pattern, found one of two ways:
//
//   - Wrap each route: mux.Handle("GET /users/{id}", mw(h)). The mux has
//     set r.Pattern before the middleware runs; this costs nothing extra,
//     but requests that match no route are not guarded.
//   - Wrap the mux: mw(mux). The middleware asks mux.Handler(r) for the
//     pattern up front and guards every request, unmatched ones included,
//     at the cost of a second route lookup per request (and, for a pattern
//     with wildcards, the one allocation ServeMux makes for its matches). CONNECT requests, which ServeMux
//     may redirect by their raw path, count as unmatched this way.
//
// Any other handler without r.Pattern is the unmatched route unless
// WithRouteID says otherwise.
func Middleware(a *atrion.Atrion, opts ...Option) func(http.Handler) http.Handler {
	guard.NeedEngine(a, "atrhttp.Middleware")
	cfg := newConfig(a, opts)
	return func(next http.Handler) http.Handler {
		h := &handler{guard: cfg.Guard, next: next, cfg: cfg}
		h.mux, _ = next.(patternRouter)
		h.guard.Handle = h.handle
		h.guard.ClientKey = cfg.key
		h.guard.Retry = isRetry
		return h
	}
}

type handler struct {
	guard guard.Guard[*http.Request] // the config's, with this handler's routes
	next  http.Handler
	mux   patternRouter // nil unless next can tell a pattern up front
	cfg   *config
	// first is the route of the first request, kept when the handler is
	// registered on a pattern rather than wrapping a mux: requests to such
	// a handler share it (unless its pattern takes any method), and a hit
	// skips the lookup
	first atomic.Pointer[firstRoute]
}

// firstRoute is the route of a pattern and method.
type firstRoute struct {
	pattern, method string
	h               *atrion.Handle
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ad guard.Admission
	r, ok := h.guard.Admit(r, &ad)
	if !ok {
		h.next.ServeHTTP(w, r)
		return
	}
	if !ad.Decision.Allowed {
		h.cfg.reject(w, r, ad.Decision)
		return
	}
	sw := getWriter(w)
	class := atrion.Failure // unless the handler returns: a panic is a failure, and goes on
	defer func() {
		ad.Ticket.Done(class)
		putWriter(sw)
	}()
	h.next.ServeHTTP(sw.view(), r)
	status := sw.statusOr200()
	if ad.Ticket.Key() != "" && httpx.ClientFault(status) {
		ad.Ticket.Blame()
	}
	class = h.cfg.classify(r, status, nil)
}

// handle is the handle of the request's route: "METHOD pattern" from the
// ServeMux pattern that serves it (asked of the mux when the middleware
// wraps one), the unmatched route when there is none.
func (h *handler) handle(r *http.Request) *atrion.Handle {
	pattern := r.Pattern
	if pattern == "" && h.mux != nil && r.Method != http.MethodConnect {
		_, pattern = h.mux.Handler(r)
	}
	f := h.first.Load()
	if f != nil && f.pattern == pattern && f.method == r.Method {
		return f.h
	}
	rh := h.route(pattern, r.Method)
	if f == nil && h.mux == nil { // set once: no churn, no allocation after it
		h.first.CompareAndSwap(nil, &firstRoute{pattern: pattern, method: strings.Clone(r.Method), h: rh})
	}
	return rh
}

// route is the handle of a pattern's route for a request's method.
func (h *handler) route(pattern, method string) *atrion.Handle {
	path, hasMethod := patternPath(pattern)
	if !hasMethod && httpx.MethodIndex(method) < 0 {
		// a pattern without a method matches any token a client sends:
		// one route for all the others keeps the table bounded
		method = OtherMethods
	}
	return h.guard.Routes().Handle(method, path)
}

// OtherMethods stands for the request's method in the route IDs of
// requests with a non-standard method (anything but GET, HEAD, POST, PUT,
// PATCH, DELETE, OPTIONS, CONNECT and TRACE) on a ServeMux pattern without
// a method, e.g. "OTHER /files/{path...}": such patterns match whatever
// method a client invents.
const OtherMethods = "OTHER"

// patternPath drops a ServeMux pattern's method: "GET /users/{id}" →
// "/users/{id}", true; "example.com/x" stays.
func patternPath(pattern string) (path string, hasMethod bool) {
	// a method ends at a blank before the first '/'; hosts have no blank
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '/':
			return pattern, false
		case ' ', '\t':
			j := i + 1
			for j < len(pattern) && (pattern[j] == ' ' || pattern[j] == '\t') {
				j++
			}
			return pattern[j:], true
		}
	}
	return pattern, false
}
