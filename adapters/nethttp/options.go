package atrhttp

import (
	"context"
	"net/http"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/hop"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
)

// config is what the Options set; one config serves every handler (or
// transport) made from one Middleware (or Transport) call.
type config struct {
	guard.Guard[*http.Request]
	classify Classifier
	reject   func(http.ResponseWriter, *http.Request, atrion.Decision)
	key      func(*http.Request) string // WithClientKey: the middleware's, not the transport's

	// the transport's pushback and retries (pushback.go, retry.go)
	unmarked, noThrottle bool
	retries              int            // WithRetries
	budget               hop.BudgetRule // WithRetryBudget
}

// Option configures Middleware and Transport.
type Option func(*config)

// Classifier classifies a finished exchange. Middleware passes the status
// the handler wrote (200 when it wrote nothing) and a nil error; Transport
// passes the response's status (0 when there is none) and RoundTrip's
// error. Panics are failures whatever the classifier says.
type Classifier func(r *http.Request, status int, err error) atrion.Class

func newConfig(a *atrion.Atrion, opts []Option) *config {
	c := &config{classify: DefaultClassifier, reject: RejectHandler}
	c.Deadline = func(r *http.Request) (time.Duration, bool) { return httpx.Deadline(r.Context(), "") }
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.Context = (*http.Request).Context
	c.WithContext = (*http.Request).WithContext
	c.Bind(a)
	return c
}

// WithRouteID sets how a request's route ID is derived, replacing the
// default (see Middleware and Transport). An empty ID means the unmatched
// route. IDs must come from templates, never raw paths: the engine caps
// the routes it tracks.
func WithRouteID(f func(*http.Request) string) Option {
	return func(c *config) { c.RouteID = f }
}

// WithClassifier replaces DefaultClassifier.
func WithClassifier(f Classifier) Option {
	return func(c *config) {
		if f != nil {
			c.classify = f
		}
	}
}

// WithRejectHandler replaces RejectHandler, which writes the response to a
// request that Middleware rejects. Transport does not use it.
func WithRejectHandler(f func(w http.ResponseWriter, r *http.Request, d atrion.Decision)) Option {
	return func(c *config) {
		if f != nil {
			c.reject = f
		}
	}
}

// WithPriority sets a request's priority for graded shedding; the default
// is atrion.PriorityNormal for every request.
func WithPriority(f func(*http.Request) atrion.Priority) Option {
	return func(c *config) { c.Priority = f }
}

// WithPriorityHeader reads each request's priority from the header name
// (X-Priority when empty): a name (critical, high, normal, low, bulk; any
// case) or a number -2..2. A missing or bad value is normal.
//
// The header must come from a trusted hop: a proxy or gateway at the edge
// that sets it and strips it from outside traffic. Any client can send
// "X-Priority: critical", and critical traffic is shed only by an open
// circuit. Where clients reach the server directly, derive the priority
// from what the server knows instead, the route or an identity it has
// authenticated, with WithPriority.
func WithPriorityHeader(name string) Option {
	if name == "" {
		name = httpx.DefaultPriorityHeader
	}
	return WithPriority(func(r *http.Request) atrion.Priority { return httpx.HeaderPriority(r.Header.Get(name)) })
}

// WithDeadlineHeader admits each request by the time its caller has left
// (atrion.AdmitWithin): the sooner of the request context's deadline (where a server or middleware sets one) and the timeout in the header
// name (X-Request-Timeout when empty), a gRPC timeout ("100m") or a Go
// duration ("250ms"). A request the route cannot serve in that time is
// refused at once (ReasonDeadline: 504, no Retry-After), before its
// handler runs. A bad, zero or negative value is no timeout; one past an
// hour is an hour. The header should come from a trusted hop, as
// WithPriorityHeader's: a caller can shorten only its own time, but the
// timeouts callers tell also bound the queue the route keeps.
func WithDeadlineHeader(name string) Option {
	if name == "" {
		name = httpx.DefaultDeadlineHeader
	}
	return func(c *config) {
		c.Deadline = func(r *http.Request) (time.Duration, bool) {
			return httpx.Deadline(r.Context(), r.Header.Get(name))
		}
	}
}

// WithClientKey names each request's client (an API key's ID, a tenant,
// the client IP behind a trusted proxy): Middleware admits it with
// atrion.AdmitKey, so that a key the engine has banned, on this node or on
// any peer sharing bans through its provider, is rejected at once (429,
// Retry-After), and each request's outcome counts as its key's evidence, a
// client error (400, 401, 403, 405, 411, 413, 414, 415, 422, 429, 431)
// included. An empty key is not judged. Keys travel to the provider and
// into logs: return an identity, never a secret. Transport does not use
// it.
//
// The key must be one the client cannot forge: an authenticated identity
// (an API key's ID, a verified token's subject) or the connection's own
// address. A value the client sets itself (X-Forwarded-For with no proxy
// of yours in front, a self-declared tenant header) lets it frame another
// client and dodge its own ban by changing it; a key's failures are
// evidence against it only when the key is authenticated. While the
// route's limit binds, keys share it by weighted max-min (a key over its
// share gets 429 "key_share"); volume alone never bans.
func WithClientKey(f func(*http.Request) string) Option {
	return func(c *config) { c.key = f }
}

// WithFilter guards only the requests for which f returns true; the others
// pass through untracked (e.g. health checks).
func WithFilter(f func(*http.Request) bool) Option {
	return func(c *config) {
		c.Skip = nil
		if f != nil {
			c.Skip = func(r *http.Request) bool { return !f(r) }
		}
	}
}

// WithDecisionHook calls f with every decision, admitted or rejected:
// the route ID, the decision and the request's context, e.g. to add the
// decision to the request's span with atrotel's Tracer.RecordDecision.
// Middleware calls it before the handler or the reject handler runs,
// Transport before the call is sent or fails with a *RejectedError. f runs
// on the request's goroutine: it must be quick and must not block.
func WithDecisionHook(f func(ctx context.Context, route string, d atrion.Decision)) Option {
	return func(c *config) { c.OnDecision = f }
}

// WithDecisionInContext makes Middleware put each request's decision in
// its context before the handler or the reject handler runs, so that
// they, and loggers, can read it with atrion.DecisionFrom. It costs two
// allocations per request (the context and the request's copy), which is
// why it is off by default. Transport does not use it.
func WithDecisionInContext() Option {
	return func(c *config) { c.DecisionInContext = true }
}

// DefaultClassifier is the default Classifier. In Middleware, a 429, 502
// or 503 that a handler answers after one of its calls through a
// Transport on the same engine was refused (rejected or throttled
// locally, or pushed back by the server) relays the dependency's state:
// it is ignored, not counted against the handler's route. Otherwise a
// request whose context was
// cancelled (the client went away) is atrion.Canceled (a slow sample if it
// waited past the route's latency baseline, else ignored), an error is a
// failure, a
// 5xx status a failure, a 4xx status ignored, anything else a success.
func DefaultClassifier(r *http.Request, status int, err error) atrion.Class {
	return httpx.ClassifyRequest(r.Context(), status, err)
}

// RejectHandler is the default response to a rejected request: 503 (429
// for a banned client key) with a jittered Retry-After (whole seconds),
// the pushback marker RejectHeader (the reason) and RetryAfterMsHeader
// that Atrion's clients read, and a small JSON body, e.g.
//
//	{"error":"circuit_open","reason":"circuit_open","mode":"CIRCUIT_OPEN","retry_after_ms":1500}
func RejectHandler(w http.ResponseWriter, _ *http.Request, d atrion.Decision) {
	h := w.Header()
	status, body := httpx.WriteRejection(h.Set, d)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
