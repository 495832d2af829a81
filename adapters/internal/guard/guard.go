// Package guard is the admission flow that every adapter shares (atrgin,
// atrecho for echo v4 and v5, atrfiber for fiber v2 and v3, atrhttp's
// middleware and transport, atrgrpc's interceptors): skip, priority,
// route, the engine's decision, and the decision hook and context (Admit).
// Serve is the rest of a framework middleware: the rejection, the handler,
// its outcome, and a panic recorded as a failure.
//
// Where a transport's call does not fit Serve (its results, its writer),
// the adapter runs it after Admit with the same idiom, so that a panic is
// a failure and goes on unchanged:
//
//	class := atrion.Failure // unless the call returns
//	defer func() { ad.Ticket.Done(class) }()
//	res, err := call()
//	class = classify(res, err)
package guard

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/hop"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
)

// Guard guards requests of a transport whose requests are a C (a
// framework's context, an *http.Request, a gRPC call). Its fields are set
// once, when the middleware is built, so that guarding a request
// allocates nothing.
type Guard[C any] struct {
	// A is the engine: set it directly, or with Bind for HTTP.
	A *atrion.Atrion
	// Skip, when set and true, passes the request on untracked.
	Skip func(C) bool
	// RouteID, when set, names the request's route, instead of Handle or
	// Template; after Bind, "" means the unmatched route.
	RouteID func(C) string
	// Handle, when set (and RouteID is not), returns the request's route
	// handle, nil for the unmatched route.
	Handle func(C) *atrion.Handle
	// Template returns the request's method and route template ("" when
	// no route matched); it is used when neither RouteID nor Handle is set.
	Template func(C) (method, template string)
	// Priority, when set, ranks the request; otherwise it is normal.
	Priority func(C) atrion.Priority
	// ClientKey, when set, names the request's client (atrion.AdmitKey):
	// a banned key is rejected, and the key is judged on its outcomes.
	ClientKey func(C) string
	// Status, when set, returns the HTTP status a keyed request ended
	// with, for Serve: a client's fault (httpx.ClientFault) counts
	// against its key, not its route.
	Status func(c C, err error) int
	// OnDecision, when set, is told of every decision, admitted or
	// rejected, with the request's context (see Context).
	OnDecision func(ctx context.Context, route string, d atrion.Decision)
	// DecisionInContext puts each decision in the request's context
	// (atrion.ContextWithDecision, with WithContext) before the request
	// goes on; it costs an allocation or two per request.
	DecisionInContext bool
	// Context returns the request's context, for OnDecision and
	// DecisionInContext; WithContext returns the request with ctx as its
	// context.
	Context     func(C) context.Context
	WithContext func(c C, ctx context.Context) C

	// Deadline, when set, returns the time the request's caller has left
	// (ok false: no deadline): such a request is admitted by it
	// (atrion.AdmitWithin), and refused at once with ReasonDeadline when
	// the route cannot serve it in time.
	Deadline func(C) (left time.Duration, ok bool)

	// Retry, when set, reports whether the request is a retry (it carries
	// a count of previous attempts): a retry is admitted one priority band
	// lower (critical as high, ..., low and bulk as bulk), so that a route
	// sheds retries before first attempts of the same priority. A client
	// can only lower its own priority by it, so it needs no trust.
	Retry func(C) bool

	// Hops, when set and on, puts a hop.State in each admitted request's
	// context (with WithContext) for the outbound adapters: Bind sets it
	// to the engine's hop.Switch, which an outbound adapter on the engine
	// turns on.
	Hops *atomic.Bool

	// Reject answers a rejected request, for Serve.
	Reject func(C, atrion.Decision) error
	// Classify classifies a finished request from the handler's error, for
	// Serve.
	Classify func(C, error) atrion.Class

	routes *httpx.Routes // Bind's
}

// NeedEngine panics, naming call (e.g. "atrgin.Middleware"), when a is
// nil: a middleware built without an engine is a programming error, said
// when it is built rather than as a nil dereference on its first request.
func NeedEngine(a *atrion.Atrion, call string) {
	if a == nil {
		panic(call + " called with a nil *atrion.Atrion")
	}
}

// Bind sets the engine for HTTP requests: routes are "METHOD template"
// (httpx.Routes), and a request that RouteID names "", Handle returns nil
// for, or whose template is "" is admitted on atrion.UnmatchedRoute. Call
// it once the fields are set.
func (g *Guard[C]) Bind(a *atrion.Atrion) {
	g.A = a
	g.Hops = hop.Switch(a)
	g.routes = httpx.NewRoutes(a)
	if id := g.RouteID; id != nil {
		g.RouteID = func(c C) string {
			if route := id(c); route != "" {
				return route
			}
			return atrion.UnmatchedRoute
		}
	}
}

// Routes returns the routes Bind made, for adapters whose Handle finds
// templates itself.
func (g *Guard[C]) Routes() *httpx.Routes { return g.routes }

// Admission is what Admit decided for one request.
type Admission struct {
	Ticket   atrion.KeyTicket // an admitted request's: settle it once when the request ends (a plain Ticket without a client key)
	Decision atrion.Decision  // the engine's decision
	Route    string           // the route ID decided on
}

// Admit decides c into ad, unless Skip skips it (ok false: pass c on
// untracked). It returns c as the request goes on: with the decision in
// its context when DecisionInContext.
func (g *Guard[C]) Admit(c C, ad *Admission) (_ C, ok bool) {
	if g.Skip != nil && g.Skip(c) {
		return c, false
	}
	p := atrion.PriorityNormal
	if g.Priority != nil {
		p = g.Priority(c)
	}
	if g.Retry != nil && p < atrion.PriorityBulk && g.Retry(c) {
		p++
	}
	key := ""
	if g.ClientKey != nil {
		key = g.ClientKey(c)
	}
	var left time.Duration
	within := false
	if g.Deadline != nil {
		left, within = g.Deadline(c)
	}
	if g.RouteID != nil {
		ad.Route = g.RouteID(c)
		switch {
		case key == "" && within:
			ad.Ticket.Ticket, ad.Decision = g.A.AdmitWithin(ad.Route, p, left)
		case key == "":
			ad.Ticket.Ticket, ad.Decision = g.A.Admit(ad.Route, p)
		case within:
			ad.Ticket, ad.Decision = g.A.AdmitKeyWithin(ad.Route, key, p, left)
		default:
			ad.Ticket, ad.Decision = g.A.AdmitKey(ad.Route, key, p)
		}
	} else {
		h := g.handle(c)
		ad.Route = h.ID()
		switch {
		case key == "" && within:
			ad.Ticket.Ticket, ad.Decision = h.AdmitWithin(p, left)
		case key == "":
			ad.Ticket.Ticket, ad.Decision = h.Admit(p)
		case within:
			ad.Ticket, ad.Decision = h.AdmitKeyWithin(key, p, left)
		default:
			ad.Ticket, ad.Decision = h.AdmitKey(key, p)
		}
	}
	if g.OnDecision != nil || g.DecisionInContext {
		c = g.tell(c, ad)
	}
	if g.Hops != nil && ad.Decision.Allowed && g.Hops.Load() {
		ctx, _ := hop.WithState(g.Context(c), p, key)
		c = g.WithContext(c, ctx)
	}
	return c, true
}

// Serve guards one request of a framework middleware; next runs the rest
// of the chain.
func (g *Guard[C]) Serve(c C, next func(C) error) error {
	var ad Admission
	c, ok := g.Admit(c, &ad)
	switch {
	case !ok:
		return next(c)
	case !ad.Decision.Allowed:
		return g.Reject(c, ad.Decision)
	}
	class := atrion.Failure // unless next returns: a panic is a failure, and goes on
	defer func() { ad.Ticket.Done(class) }()
	err := next(c)
	if g.Status != nil && ad.Ticket.Key() != "" && httpx.ClientFault(g.Status(c, err)) {
		ad.Ticket.Blame()
	}
	class = g.Classify(c, err)
	return err
}

// tell puts the decision in c's context and calls the hook, as asked.
func (g *Guard[C]) tell(c C, ad *Admission) C {
	ctx := g.Context(c)
	if g.DecisionInContext {
		ctx = atrion.ContextWithDecision(ctx, ad.Decision)
		c = g.WithContext(c, ctx)
	}
	if g.OnDecision != nil {
		g.OnDecision(ctx, ad.Route, ad.Decision)
	}
	return c
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
