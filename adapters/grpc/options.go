package atrgrpc

import (
	"context"
	"strings"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/hop"
	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// DefaultPriorityKey is the metadata key WithPriorityMetadata reads when
// given an empty or invalid key.
const DefaultPriorityKey = "x-priority"

// A Classifier maps the error a call ended with (nil for success) to an
// outcome class. Classify is the default.
type Classifier func(err error) atrion.Class

// config is what the options set; the interceptors read it, never change
// it.
type config struct {
	routeID     func(fullMethod string) string
	priority    func(ctx context.Context, fullMethod string) atrion.Priority
	priorityKey string                                              // read from metadata when priority is nil
	clientKey   func(ctx context.Context, fullMethod string) string // server side only
	skipper     func(ctx context.Context, fullMethod string) bool
	skipMethods map[string]struct{}
	operational bool // WithOperationalMethods: health and reflection are guarded too
	classify    Classifier
	rejectCode  codes.Code
	reject      func(ctx context.Context, r *RejectedError) error

	onDecision        func(ctx context.Context, route string, d atrion.Decision)
	decisionInContext bool

	noThrottle bool // WithoutThrottling
}

// Option configures an interceptor.
type Option func(*config)

// newConfig applies opts for an interceptor guarding with a. A nil a
// panics here, when the interceptor is built, rather than on its first
// call.
func newConfig(a *atrion.Atrion, opts []Option) *config {
	if a == nil {
		panic("atrgrpc: nil *atrion.Atrion")
	}
	c := &config{classify: Classify, rejectCode: codes.Unavailable}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// WithRouteID derives the route ID from the full method name, e.g. to
// group a service's methods into one route. A nil f keeps the full method
// name. An empty or over-long ID falls into the engine's overflow route.
func WithRouteID(f func(fullMethod string) string) Option {
	return func(c *config) { c.routeID = f }
}

// WithPriority sets each call's priority for graded shedding. The default
// is atrion.PriorityNormal for every call. It replaces
// WithPriorityMetadata; a nil f restores the default.
func WithPriority(f func(ctx context.Context, fullMethod string) atrion.Priority) Option {
	return func(c *config) { c.priority, c.priorityKey = f, "" }
}

// WithPriorityMetadata reads each call's priority from the metadata key
// (on the server the incoming metadata, on the client the outgoing): a
// name (critical, high, normal, low, bulk; any case) or a number -2..2, as
// the HTTP adapters read their priority header. A missing, unknown or out-of-range value,
// or more than one value, is PriorityNormal: a bad value can neither fail
// a call nor raise it above normal. An empty key, or one that is not a
// valid metadata key ([0-9a-z-_.], not ending in "-bin"; any case), means
// DefaultPriorityKey. It replaces WithPriority.
//
// Metadata is set by the caller. On a server it must come from a trusted
// hop: a proxy or gateway that sets the key and strips it from outside
// calls, since a call claiming "critical" is shed only by an open
// circuit. Where callers reach the server directly, derive the priority
// from what the server knows instead, the method or an identity it has
// authenticated (peer certificates, a verified token), with WithPriority.
func WithPriorityMetadata(key string) Option {
	key = strings.ToLower(strings.TrimSpace(key))
	if !validKey(key) {
		key = DefaultPriorityKey
	}
	return func(c *config) { c.priority, c.priorityKey = nil, key }
}

// validKey reports whether k is a valid lowercase ASCII metadata key for a
// text value (gRPC over HTTP/2: [0-9a-z-_.], "-bin" marks binary values,
// "grpc-" is reserved).
func validKey(k string) bool {
	if k == "" || len(k) > 64 || strings.HasSuffix(k, "-bin") || strings.HasPrefix(k, "grpc-") {
		return false
	}
	for i := 0; i < len(k); i++ {
		b := k[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// WithClientKey names each call's client for the server interceptors (an
// API key's ID, a tenant, a peer address; "" is no key; see
// atrion.MaxClientKeyLen for the keys that can be judged). A banned key is
// rejected before its handler runs, with codes.ResourceExhausted (the
// client's doing, as the HTTP adapters' 429; WithRejectionCode shapes only
// the service's rejections), a RetryInfo detail and a pushback trailer of
// the ban's time left. Every other call is admitted as without a key, and
// the key is judged on its calls (atrion.AdmitKey): a call that fails, or
// that ends with a status saying it was its client's fault
// (InvalidArgument, Unauthenticated, PermissionDenied, ResourceExhausted,
// or Unimplemented from the unknown-service handler), counts against its
// key, never against its route. Client interceptors ignore it.
//
// Take the key from what the server knows or has verified (a peer
// certificate, an authenticated token's subject), or from metadata that a
// trusted hop sets: a client that can name any key can only get itself
// banned under it, but one that can name another client's key can get
// that client banned.
func WithClientKey(f func(ctx context.Context, fullMethod string) string) Option {
	return func(c *config) { c.clientKey = f }
}

// WithSkipper skips calls for which f returns true: they pass through
// unguarded, neither admitted nor recorded. It combines with
// WithSkipMethods (either one skips).
func WithSkipper(f func(ctx context.Context, fullMethod string) bool) Option {
	return func(c *config) { c.skipper = f }
}

// WithSkipMethods skips the named full methods (e.g. "/admin.Ops/Drain";
// the health and reflection services are skipped already, see
// WithOperationalMethods): they
// pass through unguarded, neither admitted nor recorded. Repeated options
// add to the set.
func WithSkipMethods(fullMethods ...string) Option {
	return func(c *config) {
		if c.skipMethods == nil {
			c.skipMethods = make(map[string]struct{}, len(fullMethods))
		}
		for _, m := range fullMethods {
			c.skipMethods[m] = struct{}{}
		}
	}
}

// WithOperationalMethods guards the gRPC health service
// (/grpc.health.v1.Health/*) and server reflection (/grpc.reflection.*)
// like any other method. By default interceptors pass them through
// unguarded, neither admitted nor recorded: a health check that the
// service's own overload could shed would take an overloaded instance out
// of its load balancer's rotation for the wrong reason, or a healthy one
// out on a dependency's failure, and neither is the service's work.
func WithOperationalMethods() Option { return func(c *config) { c.operational = true } }

// operationalMethod reports whether fullMethod is the health service's or
// server reflection's.
func operationalMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// WithClassifier sets how a finished call's error is classified; nil
// restores Classify. The context rules come first (see the package doc):
// a call whose caller went away or whose deadline passed is
// atrion.Canceled (a slow sample if it waited past the route's latency
// baseline, else ignored), whatever the classifier would say of its
// error, unless the error is a DeadlineExceeded returned before that
// deadline (the handler's own timeout), which the classifier reads.
func WithClassifier(f Classifier) Option {
	return func(c *config) {
		if f == nil {
			f = Classify
		}
		c.classify = f
	}
}

// WithRejectionCode sets the status code of a rejected call:
// codes.Unavailable (the default) or codes.ResourceExhausted, or any other
// code that the clients' retry policies treat as retryable. codes.OK and
// unknown codes are replaced by codes.Unavailable, since a rejection must
// never read as a success.
func WithRejectionCode(code codes.Code) Option {
	if code == codes.OK || code > codes.Unauthenticated {
		code = codes.Unavailable
	}
	return func(c *config) { c.rejectCode = code }
}

// WithRejectHandler sets what a rejected call ends with: f receives the
// default rejection (a *RejectedError, which WithRejectionCode shapes) and
// returns the error to end the call with, e.g. after logging it or with
// details of the service's own; nil means the default. f must not block.
// A server still sets the pushback trailer to r.RetryAfter. A nil f
// restores the default.
func WithRejectHandler(f func(ctx context.Context, r *RejectedError) error) Option {
	return func(c *config) { c.reject = f }
}

// WithDecisionHook calls f with every decision, admitted or rejected,
// before the call goes on or fails: the route ID, the decision and the
// call's context (the server's incoming context, the client's outgoing
// one), e.g. to add the decision to the call's span with atrotel's
// Tracer.RecordDecision (put otelgrpc's stats handler on the server or
// client so that the span is in the context). f runs on the call's
// goroutine: it must be quick and must not block.
func WithDecisionHook(f func(ctx context.Context, route string, d atrion.Decision)) Option {
	return func(c *config) { c.onDecision = f }
}

// WithDecisionInContext puts each call's decision in the context the call
// goes on with (the handler's, or on a client the invoker's), so that
// handlers, later interceptors and loggers can read it with
// atrion.DecisionFrom. It costs one allocation per call, which is why it
// is off by default.
func WithDecisionInContext() Option {
	return func(c *config) { c.decisionInContext = true }
}

// call is a gRPC call as the guard reads it.
type call struct {
	ctx          context.Context
	method       string // the full method name
	unregistered bool   // served by the unknown-service handler: the unmatched route
}

// serverGuard is the server interceptors' admission: the incoming
// metadata, and the client key.
func (c *config) serverGuard(a *atrion.Atrion) *guard.Guard[call] {
	g := c.guard(a, metadata.ValueFromIncomingContext)
	g.Retry = func(k call) bool {
		v := metadata.ValueFromIncomingContext(k.ctx, hop.PreviousAttemptsKey)
		return len(v) == 1 && hop.Retry(v[0])
	}
	if f := c.clientKey; f != nil {
		g.ClientKey = func(k call) string { return f(k.ctx, k.method) }
	}
	return g
}

// blame marks t's call as its client's fault when err says it was, so
// that it counts against the call's client key (WithClientKey);
// unregistered says the unknown-service handler served it.
func blame(t *atrion.KeyTicket, err error, unregistered bool) {
	if t.Key() == "" {
		return
	}
	switch codeOf(err) {
	case codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted:
		t.Blame()
	case codes.Unimplemented:
		if unregistered { // a method no one serves: the caller's mistake
			t.Blame()
		}
	}
}

// guard is the admission of one side's interceptors; md reads a metadata
// value for the priority option (incoming on servers, outgoing on
// clients).
func (c *config) guard(a *atrion.Atrion, md func(context.Context, string) []string) *guard.Guard[call] {
	g := &guard.Guard[call]{
		A: a,
		RouteID: func(k call) string {
			if k.unregistered {
				return atrion.UnmatchedRoute
			}
			return c.route(k.method)
		},
		OnDecision:        c.onDecision,
		DecisionInContext: c.decisionInContext,
		// the call's deadline (a server's from grpc-timeout, a client's
		// from its own context): admission by it (atrion.AdmitWithin)
		Deadline: func(k call) (time.Duration, bool) { return httpx.Deadline(k.ctx, "") },
		Context:  func(k call) context.Context { return k.ctx },
		WithContext: func(k call, ctx context.Context) call {
			k.ctx = ctx
			return k
		},
	}
	if c.skipMethods != nil || c.skipper != nil || !c.operational {
		g.Skip = func(k call) bool { return c.skip(k.ctx, k.method) }
	}
	if c.priority != nil || c.priorityKey != "" {
		g.Priority = func(k call) atrion.Priority { return c.callPriority(k.ctx, k.method, md) }
	}
	return g
}

// skip reports whether the call passes through unguarded.
func (c *config) skip(ctx context.Context, fullMethod string) bool {
	if !c.operational && operationalMethod(fullMethod) {
		return true
	}
	if c.skipMethods != nil {
		if _, ok := c.skipMethods[fullMethod]; ok {
			return true
		}
	}
	return c.skipper != nil && c.skipper(ctx, fullMethod)
}

// route returns the call's route ID.
func (c *config) route(fullMethod string) string {
	if c.routeID != nil {
		return c.routeID(fullMethod)
	}
	return fullMethod
}

// callPriority returns the call's priority; md reads a metadata value
// from the side's metadata (incoming on servers, outgoing on clients).
func (c *config) callPriority(ctx context.Context, fullMethod string, md func(context.Context, string) []string) atrion.Priority {
	switch {
	case c.priority != nil:
		return c.priority(ctx, fullMethod)
	case c.priorityKey != "":
		return metadataPriority(md(ctx, c.priorityKey))
	default:
		return atrion.PriorityNormal
	}
}

// metadataPriority reads a priority from a metadata key's values: exactly
// one value, read as an HTTP priority header (httpx.HeaderPriority); anything else is normal.
func metadataPriority(vs []string) atrion.Priority {
	if len(vs) != 1 {
		return atrion.PriorityNormal
	}
	return httpx.HeaderPriority(vs[0])
}
