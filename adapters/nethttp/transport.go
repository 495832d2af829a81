package atrhttp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
)

// ErrRejected is what errors.Is finds in the error of a call that
// Transport rejected locally.
var ErrRejected = errors.New("atrhttp: call rejected locally")

// RejectedError is the error of a call that Transport rejected locally,
// without sending it. http.Client returns it wrapped in a *url.Error.
type RejectedError struct {
	Route    string
	Decision atrion.Decision
}

// Error describes the rejection.
func (e *RejectedError) Error() string {
	return "atrhttp: " + e.Route + " rejected locally (" + e.Decision.Reason.String() + ", " +
		e.Decision.Mode.String() + "), retry after " + strconv.FormatInt(e.Decision.RetryAfter.Milliseconds(), 10) + "ms"
}

// Is reports whether target is ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Transport returns an http.RoundTripper that guards calls made through
// base (http.DefaultTransport when nil) with a, so that a service stops
// calling a failing dependency: a rejected call fails at once with a
// *RejectedError and never reaches the network.
//
// The route ID is "METHOD host" (e.g. "GET payments.internal:8443"); use
// WithRouteID to split a dependency by operation. A call's latency runs
// until its response headers arrive; it is classified with
// DefaultClassifier (5xx and transport errors fail, 4xx and calls the
// caller cancelled are ignored). WithRejectHandler does not apply.
//
// A rejection by an Atrion-guarded server (503 or 429 with RejectHeader)
// is the server's pushback, not a failure: it is ignored by the route,
// so that a server's shedding never opens its clients' circuits, and it
// feeds adaptive throttling per host (the Google SRE rule: over the last
// 2 s, calls are rejected locally, with a *ThrottledError, in the share
// max(0, (requests − 2·accepts)/(requests + 1))), so that a client stops
// sending what the server would refuse. WithoutThrottling turns the
// throttling off; WithUnmarkedPushback reads any 503 or 429 as pushback.
//
// When a call made while serving a request that an Atrion middleware on
// the same engine admitted is refused (locally or by the server), the
// request is marked, so that the 429, 502 or 503 its handler answers
// with is not counted against its own route (see DefaultClassifier).
func Transport(a *atrion.Atrion, base http.RoundTripper, opts ...Option) http.RoundTripper {
	guard.NeedEngine(a, "atrhttp.Transport")
	if base == nil {
		base = http.DefaultTransport
	}
	cfg := newConfig(a, opts)
	t := &transport{guard: cfg.Guard, base: base, cfg: cfg, a: a, deps: hop.NewThrottles(cfg.retries > 0, cfg.budget)}
	t.guard.DecisionInContext = false // the caller's context is not the transport's to change
	t.guard.Hops = nil                // nor is it an inbound request
	t.guard.Template = callRoute
	hop.Switch(a).Store(true) // inbound requests on a now carry the state calls mark
	return t
}

type transport struct {
	guard guard.Guard[*http.Request]
	base  http.RoundTripper
	cfg   *config
	a     *atrion.Atrion
	deps  *hop.Throttles // by host
}

// RoundTrip guards one call, with its retries under WithRetries.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.cfg.retries > 0 {
		return t.retrying(r)
	}
	res, err, _, _ := t.once(r)
	return res, err
}

// once guards one attempt. again says whether it may be retried (the
// server pushed back, or the connection failed), wait how long the
// server asked to wait first.
func (t *transport) once(r *http.Request) (res *http.Response, err error, again bool, wait time.Duration) {
	var ad guard.Admission
	if _, ok := t.guard.Admit(r, &ad); !ok {
		res, err = t.base.RoundTrip(r)
		return res, err, false, 0
	}
	if !ad.Decision.Allowed {
		closeBody(r)
		hop.MarkRelayed(r.Context())
		return nil, &RejectedError{Route: ad.Route, Decision: ad.Decision}, false, 0
	}
	var th *hop.Throttle // nil: throttling is off
	var now int64        // the engine's time when the call is sent, for the throttle's window
	if !t.cfg.noThrottle {
		_, host := callRoute(r)
		th, _ = t.deps.For(host)
		if now = t.now(); !th.Allow(now) {
			ad.Ticket.Done(atrion.Ignored) // never sent: says nothing of the dependency
			closeBody(r)
			hop.MarkRelayed(r.Context())
			return nil, &ThrottledError{Route: ad.Route, Share: th.RejectShare(now)}, false, 0
		}
	}
	class := atrion.Failure // unless base returns: a panic is a failure, and goes on
	defer func() { ad.Ticket.Done(class) }()
	res, err = t.base.RoundTrip(r)
	pushed := t.cfg.pushback(res)
	if th != nil { // counted in the period the call was sent in: calls are short beside the 250 ms buckets
		th.Done(now, !pushed) // not refused: failures are the circuit's to judge
	}
	if pushed {
		class = atrion.Ignored
		hop.MarkRelayed(r.Context())
		return res, err, true, retryAfter(res.Header)
	}
	if deadline(res) {
		class = atrion.Ignored // the caller's time was short: not the route's failure
		return res, err, false, 0
	}
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	class = t.cfg.classify(r, status, err)
	return res, err, res == nil && retryable(r, err), 0
}

// now is the engine's time in ns, for the throttles' windows.
func (t *transport) now() int64 { return t.a.Now().UnixNano() }

// closeBody closes a request's body: a RoundTripper closes it, even on
// errors.
func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// callRoute is a call's method and host, its route "METHOD host".
func callRoute(r *http.Request) (method, host string) {
	host = r.Host
	if r.URL != nil && r.URL.Host != "" {
		host = r.URL.Host
	}
	method = r.Method
	if method == "" { // the client's spelling of GET
		method = http.MethodGet
	}
	return method, host
}
