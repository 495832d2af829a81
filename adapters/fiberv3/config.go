package atrfiber

import (
	"context"

	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gofiber/fiber/v3"
)

// Config configures New, field by field as fiber's own middleware: a
// zero field takes its default.
type Config struct {
	// Next skips the requests for which it returns true: they pass
	// through untracked.
	//
	// Optional. Default: nil
	Next func(c fiber.Ctx) bool

	// RouteID replaces the default route ID, "METHOD template" of the
	// route that will serve the request (the unmatched route when none
	// will). An empty ID means the unmatched route. IDs must come from
	// templates, never raw paths: the engine caps the routes it tracks.
	//
	// Optional. Default: nil
	RouteID func(c fiber.Ctx) string

	// Priority ranks a request for graded shedding.
	//
	// Optional. Default: from PriorityHeader when that is set, else
	// atrion.PriorityNormal for every request
	Priority func(c fiber.Ctx) atrion.Priority

	// PriorityHeader, when Priority is nil, names the request header
	// (e.g. "X-Priority") each request's priority is read from: a name
	// (critical, high, normal, low, bulk; any case) or a number -2..2. A
	// missing or bad value is normal.
	//
	// The header must come from a trusted hop: a proxy or gateway at the
	// edge that sets it and strips it from outside traffic. Any client can
	// send "X-Priority: critical", and critical traffic is shed only by an
	// open circuit. Where clients reach the server directly, derive the
	// priority from what the server knows instead, the route or an
	// identity it has authenticated, with Priority.
	//
	// Optional. Default: "" (no header)
	PriorityHeader string

	// DeadlineHeader names the request header (e.g. "X-Request-Timeout")
	// from which each request's timeout is read: a gRPC timeout ("100m")
	// or a Go duration ("250ms"). The request is admitted by the time its
	// caller has left (atrion.AdmitWithin): one the route cannot serve in
	// that time is refused at once (ReasonDeadline: 504, no Retry-After),
	// before its handler runs. A bad, zero or negative value is no
	// timeout; one past an hour is an hour. Like PriorityHeader it should
	// come from a trusted hop: a caller can shorten only its own time, but
	// the timeouts callers tell also bound the queue the route keeps.
	//
	// Optional. Default: "" (no header)
	DeadlineHeader string

	// ClientKey names each request's client (an API key's ID, a tenant,
	// the client IP behind a trusted proxy): requests are admitted with
	// atrion.AdmitKey, so that a key the engine has banned, on this node
	// or on any peer sharing bans through its provider, is rejected at
	// once (429, Retry-After), and each request's outcome counts as its
	// key's evidence, a client error (httpx's list: 400, 401, 403, 405,
	// 411, 413, 414, 415, 422, 429, 431) included. An empty key is not
	// judged. Keys travel to the provider and into logs: return an
	// identity, never a secret.
	//
	// The key must be one the client cannot forge: an authenticated
	// identity (an API key's ID, a verified token's subject) or the
	// connection's own address. A value the client sets itself
	// (X-Forwarded-For with no proxy of yours in front, a self-declared
	// tenant header) lets it frame another client and dodge its own ban;
	// a key's failures are evidence against it only when the key is
	// authenticated. While the route's limit binds, keys share it by
	// weighted max-min (a key over its share gets 429 "key_share").
	//
	// Optional. Default: nil
	ClientKey func(c fiber.Ctx) string

	// Classifier classifies a finished request. It runs after the
	// handlers, with the error the chain returned (before the app's
	// ErrorHandler turns it into a response). A panic is a failure
	// whatever it says.
	//
	// Optional. Default: DefaultClassifier
	Classifier func(c fiber.Ctx, err error) atrion.Class

	// RejectHandler answers a rejected request; New returns its error and
	// does not call the handlers.
	//
	// Optional. Default: RejectHandler
	RejectHandler func(c fiber.Ctx, d atrion.Decision) error

	// DecisionHook is called with every decision, admitted or rejected,
	// before the handlers or RejectHandler run: the route ID, the decision
	// and the request's context (c.Context()), e.g. to add the decision to
	// the request's span with atrotel's Tracer.RecordDecision. It runs on
	// the request's goroutine: it must be quick and must not block.
	//
	// Optional. Default: nil
	DecisionHook func(ctx context.Context, route string, d atrion.Decision)

	// DecisionInContext puts each request's decision in its context
	// (c.SetContext) before the handlers or RejectHandler run, so that
	// they, and loggers, can read it with atrion.DecisionFrom. It costs an
	// allocation per request.
	//
	// Optional. Default: false
	DecisionInContext bool
}

// ConfigDefault is the config New uses when it is given none.
var ConfigDefault = Config{
	Classifier:    DefaultClassifier,
	RejectHandler: RejectHandler,
}

// configDefault is the first config (ConfigDefault when there is none)
// with its zero fields defaulted.
func configDefault(config ...Config) Config {
	cfg := ConfigDefault
	if len(config) > 0 {
		cfg = config[0]
	}
	if cfg.Classifier == nil {
		cfg.Classifier = ConfigDefault.Classifier
	}
	if cfg.RejectHandler == nil {
		cfg.RejectHandler = ConfigDefault.RejectHandler
	}
	if cfg.Priority == nil && cfg.PriorityHeader != "" {
		name := cfg.PriorityHeader
		cfg.Priority = func(c fiber.Ctx) atrion.Priority { return httpx.HeaderPriority(c.Get(name)) }
	}
	return cfg
}

// DefaultClassifier classifies a finished request. Its status is the code
// of the *fiber.Error in err's chain, 500 for any other error, or the
// response's status when err is nil. A request whose context (c, a
// context.Context) was cancelled is atrion.Canceled, but fasthttp never
// reports a client going away (c.Err() is nil): such a request counts by
// its status. Then 5xx is a failure, 4xx ignored, anything else a success.
func DefaultClassifier(c fiber.Ctx, err error) atrion.Class {
	return httpx.ClassifyRequest(c.Context(), status(c, err), nil)
}

// status is the status a finished request answers with: the code of the
// *fiber.Error in err's chain, 500 for any other error, or the written
// status when err is nil.
func status(c fiber.Ctx, err error) int {
	if err != nil {
		return httpx.ErrorStatus(err, func(e *fiber.Error) int { return e.Code })
	}
	return c.Response().StatusCode()
}

// RejectHandler is the default response to a rejected request: 503 with a
// jittered Retry-After (whole seconds) and a small JSON body, e.g.
//
//	{"error":"circuit_open","reason":"circuit_open","mode":"CIRCUIT_OPEN","retry_after_ms":1500}
func RejectHandler(c fiber.Ctx, d atrion.Decision) error {
	status, body := httpx.WriteRejection(c.Set, d)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(body)
}
