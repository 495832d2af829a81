package atrgin

import (
	"context"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
)

// config is what the Options set.
type config struct{ guard.Guard[*gin.Context] }

// Option configures Middleware.
type Option func(*config)

func newConfig(opts []Option) *config {
	c := &config{guard.Guard[*gin.Context]{Classify: classifier(DefaultClassifier), Reject: rejecter(RejectHandler),
		Deadline: func(c *gin.Context) (time.Duration, bool) { return httpx.Deadline(c.Request.Context(), "") }}}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// WithRouteID replaces the default route ID, "METHOD " + c.FullPath() (the
// unmatched route when no route matched). An empty ID means the unmatched
// route. IDs must come from templates, never raw paths: the engine caps the
// routes it tracks.
func WithRouteID(f func(*gin.Context) string) Option {
	return func(c *config) { c.RouteID = f }
}

// WithClassifier replaces DefaultClassifier; it runs after the handlers.
// A panic is a failure whatever it says.
func WithClassifier(f func(*gin.Context) atrion.Class) Option {
	return func(c *config) {
		if f != nil {
			c.Classify = classifier(f)
		}
	}
}

// classifier is f as the guard calls it: gin's handlers return no error
// (errors travel in c.Errors).
func classifier(f func(*gin.Context) atrion.Class) func(*gin.Context, error) atrion.Class {
	return func(c *gin.Context, _ error) atrion.Class { return f(c) }
}

// WithRejectHandler replaces RejectHandler. It must write the response;
// Middleware aborts the chain after it.
func WithRejectHandler(f func(*gin.Context, atrion.Decision)) Option {
	return func(c *config) {
		if f != nil {
			c.Reject = rejecter(f)
		}
	}
}

// rejecter is f as the guard calls it: f writes the response, then the
// chain is aborted.
func rejecter(f func(*gin.Context, atrion.Decision)) func(*gin.Context, atrion.Decision) error {
	return func(c *gin.Context, d atrion.Decision) error {
		f(c, d)
		c.Abort()
		return nil
	}
}

// WithPriority sets a request's priority for graded shedding; the default
// is atrion.PriorityNormal for every request.
func WithPriority(f func(*gin.Context) atrion.Priority) Option {
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
	return WithPriority(func(c *gin.Context) atrion.Priority { return httpx.HeaderPriority(c.GetHeader(name)) })
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
		c.Deadline = func(c *gin.Context) (time.Duration, bool) {
			return httpx.Deadline(c.Request.Context(), c.GetHeader(name))
		}
	}
}

// WithClientKey names each request's client (an API key's ID, a tenant,
// the client IP from c.ClientIP() behind a trusted proxy): Middleware
// admits it with atrion.AdmitKey, so that a key the engine has banned, on
// this node or on any peer sharing bans through its provider, is rejected
// at once (429, Retry-After), and each request's outcome counts as its
// key's evidence, a client error (400, 401, 403, 405, 411, 413, 414,
// 415, 422, 429, 431) included. An empty key is not judged. Keys travel to
// the provider and into logs: return an identity, never a secret.
//
// The key must be one the client cannot forge: an authenticated identity
// (an API key's ID, a verified token's subject) or c.RemoteIP(). Under
// gin's defaults c.ClientIP() believes the client's own X-Forwarded-For:
// use it only after engine.SetTrustedProxies names your proxies, or a
// client can frame another's address and dodge its own ban by changing
// the header. A key's failures are evidence against it only when the key
// is authenticated. While the route's limit binds, keys share it by
// weighted max-min (a key over its share gets 429 "key_share"); volume
// alone never bans.
func WithClientKey(f func(*gin.Context) string) Option {
	return func(c *config) { c.ClientKey = f }
}

// WithFilter guards only the requests for which f returns true; the others
// pass through untracked (e.g. health checks).
func WithFilter(f func(*gin.Context) bool) Option {
	return func(c *config) {
		c.Skip = nil
		if f != nil {
			c.Skip = func(c *gin.Context) bool { return !f(c) }
		}
	}
}

// WithDecisionHook calls f with every decision, admitted or rejected,
// before the handler or the reject handler runs: the route ID, the
// decision and the request's context (c.Request.Context()), e.g. to add the
// decision to the request's span with atrotel's Tracer.RecordDecision.
// f runs on the request's goroutine: it must be quick and must not block.
func WithDecisionHook(f func(ctx context.Context, route string, d atrion.Decision)) Option {
	return func(c *config) { c.OnDecision = f }
}

// WithDecisionInContext puts each request's decision in its context
// (c.Request, replaced by a copy carrying it) before the handler or the reject handler runs, so that
// they, and loggers, can read it with atrion.DecisionFrom. It costs two allocations (the context and the request's copy)
// per request, which is why it is off by default.
func WithDecisionInContext() Option {
	return func(c *config) { c.DecisionInContext = true }
}

// DefaultClassifier classifies a finished request: a client that went away
// is atrion.Canceled (a slow sample if it waited past the route's latency
// baseline, else ignored); a 5xx status is a failure and a 4xx status ignored; a
// success status with a private error in c.Errors (c.Error(err)) is a
// failure; anything else a success.
func DefaultClassifier(c *gin.Context) atrion.Class {
	class := httpx.ClassifyRequest(c.Request.Context(), c.Writer.Status(), nil)
	if class == atrion.Success {
		for _, e := range c.Errors {
			if e.Type&gin.ErrorTypePrivate != 0 {
				return atrion.Failure
			}
		}
	}
	return class
}

// RejectHandler is the default response to a rejected request: 503 (429
// for a banned client key) with a jittered Retry-After (whole seconds) and
// a small JSON body, e.g.
//
//	{"error":"circuit_open","reason":"circuit_open","mode":"CIRCUIT_OPEN","retry_after_ms":1500}
func RejectHandler(c *gin.Context, d atrion.Decision) {
	status, body := httpx.WriteRejection(c.Header, d)
	c.Data(status, "application/json", body)
}
