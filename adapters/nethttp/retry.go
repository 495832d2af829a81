package atrhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/hop"
)

// PreviousAttemptsHeader counts the attempts of a call made before this
// one: Transport's retries carry it (1, 2, ...), and Middleware (and
// atrgin) admit a request carrying a count of 1 or more one priority band
// lower, so that a route sheds retries before first attempts. A bad value
// is a first attempt; a client can only lower its own priority by it.
const PreviousAttemptsHeader = hop.PreviousAttemptsHeader

// isRetry reports whether a request carries a previous-attempts count.
func isRetry(r *http.Request) bool {
	v := r.Header[PreviousAttemptsHeader]
	return len(v) == 1 && hop.Retry(v[0])
}

// WithRetries makes Transport retry a call up to retries times (at most
// 5) when the server pushed back or the connection failed before an
// answer, within a retry budget per host: a retry is allowed while the
// retries of the last 10 s stay under 20 % of the calls plus 5 a second
// (WithRetryBudget changes the rule). Only idempotent methods (GET, HEAD,
// OPTIONS, TRACE, PUT, DELETE) are retried, and a call with a body only
// when its GetBody is set. A retry waits for the pushback's hint
// (RetryAfterMsHeader, else Retry-After; at most 10 s, and never past the
// call's deadline: then the pushback is returned) and carries
// PreviousAttemptsHeader. A local rejection (ErrRejected, ErrThrottled)
// is never retried, nor is a call whose context is done. Middleware
// ignores it.
func WithRetries(retries int) Option {
	return func(c *config) { c.retries = min(max(retries, 0), 5) }
}

// WithRetryBudget sets the retry budget's rule for WithRetries: ratio of
// calls that may be retried (0.2 by default; at most 1) and retries a
// second allowed whatever the calls (5 by default, negative for none).
// Zero or non-finite values mean the defaults.
func WithRetryBudget(ratio, perSecond float64) Option {
	return func(c *config) { c.budget = hop.BudgetRule{Ratio: ratio, PerSecond: perSecond} }
}

// idempotent reports whether a method may be retried.
func idempotent(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retrying runs a call with retries, within the host's budget.
func (t *transport) retrying(r *http.Request) (*http.Response, error) {
	_, host := callRoute(r)
	_, budget := t.deps.For(host)
	budget.Call(t.now())
	res, err, again, wait := t.once(r)
	if !idempotent(r.Method) || (r.Body != nil && r.Body != http.NoBody && r.GetBody == nil) {
		return res, err
	}
	for n := 1; again && n <= t.cfg.retries; n++ {
		ctx := r.Context()
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			break // the caller cannot wait for the server's hint
		}
		if !budget.TryRetry(t.now()) {
			break
		}
		next, gerr := retryRequest(r, n)
		if gerr != nil {
			break
		}
		if wait > 0 && !sleep(ctx, wait) {
			break
		}
		drain(res)
		res, err, again, wait = t.once(next)
	}
	return res, err
}

// retryRequest is r's n-th retry: a copy carrying the count, with a fresh
// body from GetBody.
func retryRequest(r *http.Request, n int) (*http.Request, error) {
	next := r.Clone(r.Context())
	next.Header.Set(PreviousAttemptsHeader, strconv.Itoa(n))
	if r.GetBody != nil && r.Body != nil && r.Body != http.NoBody {
		b, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		next.Body = b
	}
	return next, nil
}

// sleep waits d unless ctx ends first (false).
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drain discards a response that a retry replaces.
func drain(res *http.Response) {
	if res != nil && res.Body != nil {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		res.Body.Close()
	}
}

// retryable reports whether a call that ended with err (no response) may
// be retried: a connection that failed, never a local rejection or a
// caller that gave up.
func retryable(r *http.Request, err error) bool {
	return err != nil && r.Context().Err() == nil && !errors.Is(err, ErrRejected)
}
