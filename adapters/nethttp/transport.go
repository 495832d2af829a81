package atrhttp

import (
	"errors"
	"net/http"
	"strconv"

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
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{a: a, base: base, cfg: newConfig(a, opts)}
}

type transport struct {
	a    *atrion.Atrion
	base http.RoundTripper
	cfg  *config
}

// RoundTrip guards one call.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	cfg := t.cfg
	if cfg.filter != nil && !cfg.filter(r) {
		return t.base.RoundTrip(r)
	}
	p := atrion.PriorityNormal
	if cfg.priority != nil {
		p = cfg.priority(r)
	}
	var tk atrion.Ticket
	var d atrion.Decision
	var route string
	if cfg.routeID != nil {
		route = routeOrUnmatched(cfg.routeID(r))
		tk, d = t.a.Admit(route, p)
	} else {
		h := t.handle(r)
		route = h.ID()
		tk, d = h.Admit(p)
	}
	if cfg.onDecision != nil {
		cfg.onDecision(r.Context(), route, d)
	}
	if !d.Allowed {
		if r.Body != nil { // a RoundTripper closes the body, even on errors
			r.Body.Close()
		}
		return nil, &RejectedError{Route: route, Decision: d}
	}
	done := false
	defer func() {
		if !done { // base panicked
			tk.Done(atrion.Failure)
		}
	}()
	res, err := t.base.RoundTrip(r)
	done = true
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	tk.Done(cfg.classify(r, status, err))
	return res, err
}

func (t *transport) handle(r *http.Request) *atrion.Handle {
	host := r.Host
	if r.URL != nil && r.URL.Host != "" {
		host = r.URL.Host
	}
	method := r.Method
	if method == "" { // the client's spelling of GET
		method = http.MethodGet
	}
	return t.cfg.routes.Handle(method, host)
}
