package atrhttp

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/atrion-go/atrion/adapters/internal/guard"
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
func Transport(a *atrion.Atrion, base http.RoundTripper, opts ...Option) http.RoundTripper {
	guard.NeedEngine(a, "atrhttp.Transport")
	if base == nil {
		base = http.DefaultTransport
	}
	cfg := newConfig(a, opts)
	t := &transport{guard: cfg.Guard, base: base, classify: cfg.classify}
	t.guard.DecisionInContext = false // the caller's context is not the transport's to change
	t.guard.Template = callRoute
	return t
}

type transport struct {
	guard    guard.Guard[*http.Request]
	base     http.RoundTripper
	classify Classifier
}

// RoundTrip guards one call.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var ad guard.Admission
	if _, ok := t.guard.Admit(r, &ad); !ok {
		return t.base.RoundTrip(r)
	}
	if !ad.Decision.Allowed {
		if r.Body != nil { // a RoundTripper closes the body, even on errors
			r.Body.Close()
		}
		return nil, &RejectedError{Route: ad.Route, Decision: ad.Decision}
	}
	class := atrion.Failure // unless base returns: a panic is a failure, and goes on
	defer func() { ad.Ticket.Done(class) }()
	res, err := t.base.RoundTrip(r)
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	class = t.classify(r, status, err)
	return res, err
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
