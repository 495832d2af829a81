// Package guard is the request flow that the framework adapters (atrgin,
// atrecho for echo v4 and v5, atrfiber for fiber v2 and v3) share: skip,
// priority, route ID, admission, rejection, the handler, its outcome, and
// a panic recorded as a failure.
package guard

import (
	"context"

	atrion "github.com/atrion-go/atrion/core"
)

// Guard guards requests of a framework whose handlers take a C. Its
// function fields are set once, when the middleware is built, so that
// serving a request allocates nothing.
type Guard[C any] struct {
	// A is the engine, set with Bind.
	A *atrion.Atrion
	// Skip, when set and true, passes the request on untracked.
	Skip func(C) bool
	// RouteID, when set, replaces Template; "" means the unmatched route.
	RouteID func(C) string
	// Handle, when set (and RouteID is not), returns the request's route
	// handle, nil for the unmatched route.
	Handle func(C) *atrion.Handle
	// Template returns the request's method and route template ("" when
	// no route matched); it is used when neither RouteID nor Handle is set.
	Template func(C) (method, template string)
	// Priority, when set, ranks the request; otherwise it is normal.
	Priority func(C) atrion.Priority
	// ClientKey, when set, names the request's client (atrion.AdmitKey);
	// Blame then tells, after the handler, whether the request was its
	// client's fault (counted against the key, not the route).
	ClientKey func(C) string
	Blame     func(C) bool
	// Reject answers a rejected request.
	Reject func(C, atrion.Decision) error
	// Classify classifies a finished request from the handler's error.
	Classify func(C, error) atrion.Class
	// OnDecision, when set, is told of every decision, admitted or
	// rejected, with the request's context (see Context).
	OnDecision func(ctx context.Context, route string, d atrion.Decision)
	// DecisionInContext puts each decision in the request's context
	// (atrion.ContextWithDecision) before the handler or the reject
	// handler runs; it costs an allocation or two per request.
	DecisionInContext bool
	// Context returns the request's context, for OnDecision and
	// DecisionInContext; SetContext replaces it.
	Context    func(C) context.Context
	SetContext func(C, context.Context)

	routes *atrion.HTTPRoutes
}

// Bind sets the engine the guard admits requests with.
func (g *Guard[C]) Bind(a *atrion.Atrion) {
	g.A = a
	g.routes = atrion.NewHTTPRoutes(a)
}

// Serve guards one request; next runs the rest of the chain.
func (g *Guard[C]) Serve(c C, next func(C) error) error {
	if g.Skip != nil && g.Skip(c) {
		return next(c)
	}
	p := atrion.PriorityNormal
	if g.Priority != nil {
		p = g.Priority(c)
	}
	key := ""
	if g.ClientKey != nil {
		key = g.ClientKey(c)
	}
	var t atrion.KeyTicket // without a key, a plain Ticket's admission
	var d atrion.Decision
	var route string
	if g.RouteID != nil {
		route = g.routeID(c)
		t, d = g.A.AdmitKey(route, key, p)
	} else {
		h := g.handle(c)
		route = h.ID()
		t, d = h.AdmitKey(key, p)
	}
	if g.OnDecision != nil || g.DecisionInContext {
		g.tell(c, route, d)
	}
	if !d.Allowed {
		return g.Reject(c, d)
	}
	served := false
	defer func() {
		if !served { // the handler panicked: a failure; the panic goes on
			t.Done(atrion.Failure)
		}
	}()
	err := next(c)
	served = true
	if key != "" && g.Blame != nil && g.Blame(c) {
		t.Blame()
	}
	t.Done(g.Classify(c, err))
	return err
}

// tell puts d in the request's context and calls the hook, as asked.
func (g *Guard[C]) tell(c C, route string, d atrion.Decision) {
	ctx := g.Context(c)
	if g.DecisionInContext {
		ctx = atrion.ContextWithDecision(ctx, d)
		g.SetContext(c, ctx)
	}
	if g.OnDecision != nil {
		g.OnDecision(ctx, route, d)
	}
}

func (g *Guard[C]) routeID(c C) string {
	if id := g.RouteID(c); id != "" {
		return id
	}
	return atrion.UnmatchedRoute
}

func (g *Guard[C]) handle(c C) *atrion.Handle {
	if g.Handle != nil {
		if h := g.Handle(c); h != nil {
			return h
		}
		return g.routes.Handle("", "") // the unmatched route
	}
	return g.routes.Handle(g.Template(c))
}
