package atrhttp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/hop"
)

// The headers Atrion's HTTP adapters exchange across hops.
const (
	// RejectHeader marks a rejection by an Atrion-guarded server (beside
	// 503, or 429 for a banned client key, and Retry-After); its value is
	// the reason: shed, circuit_open, recovering, voltage or banned.
	// Transport reads a marked rejection as the server's pushback.
	RejectHeader = hop.RejectHeader
	// RetryAfterMsHeader is a rejection's retry hint in milliseconds.
	RetryAfterMsHeader = hop.RetryAfterMsHeader
)

// ErrThrottled is what errors.Is finds in the error of a call that
// Transport's adaptive throttling rejected locally, without sending it,
// because the server has been pushing back. errors.Is finds ErrRejected
// in it too: it is a local rejection.
var ErrThrottled = errors.New("atrhttp: call throttled locally")

// ThrottledError is the error of a call that Transport's adaptive
// throttling rejected locally. http.Client returns it wrapped in a
// *url.Error.
type ThrottledError struct {
	Route string  // the call's route ID
	Share float64 // the share of calls the throttle rejects now
}

// Error describes the rejection.
func (e *ThrottledError) Error() string {
	return "atrhttp: " + e.Route + " throttled locally: the server is pushing back (rejecting " +
		strconv.FormatFloat(100*e.Share, 'f', 0, 64) + "% of calls)"
}

// Is reports whether target is ErrThrottled or ErrRejected.
func (e *ThrottledError) Is(target error) bool {
	return target == ErrThrottled || target == ErrRejected
}

// WithUnmarkedPushback makes Transport read a 503 or 429 that carries no
// RejectHeader (a server, or a proxy, that is not Atrion-guarded) as
// pushback too: ignored by the route and counted by the throttle as a
// refusal. By default such a response is classified as any other (a 503
// a failure, a 429 ignored) and counts as accepted. Middleware ignores
// it.
func WithUnmarkedPushback() Option {
	return func(c *config) { c.unmarked = true }
}

// WithoutThrottling turns Transport's adaptive throttling off: a server's
// pushback is still ignored by the route, but the transport keeps sending
// at the caller's rate. Middleware ignores it.
func WithoutThrottling() Option {
	return func(c *config) { c.noThrottle = true }
}

// pushback reports whether res is a server's refusal: a marked rejection
// (503 or 429 with RejectHeader), or with WithUnmarkedPushback any 503
// or 429. A server's refusal for the caller's deadline (504 marked
// "deadline") is not one to retry or to throttle on (deadline).
func (c *config) pushback(res *http.Response) bool {
	if res == nil || (res.StatusCode != http.StatusServiceUnavailable && res.StatusCode != http.StatusTooManyRequests) {
		return false
	}
	return c.unmarked || len(res.Header[RejectHeader]) > 0
}

// deadline reports whether res is a server's refusal for the caller's
// deadline (504 marked "deadline"): the caller's time, not the route's
// failure, and no reason to retry.
func deadline(res *http.Response) bool {
	return res != nil && res.StatusCode == http.StatusGatewayTimeout && res.Header.Get(RejectHeader) == "deadline"
}

// maxRetryAfter bounds the retry hints Transport honours from a server.
const maxRetryAfter = 10 * time.Second

// retryAfter reads a pushback's retry hint: RetryAfterMsHeader, else
// Retry-After in whole seconds (an HTTP date is not read); 0 when there
// is none or it cannot be read, at most maxRetryAfter.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get(RetryAfterMsHeader); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			return min(time.Duration(min(ms, int64(maxRetryAfter/time.Millisecond)))*time.Millisecond, maxRetryAfter)
		}
		return 0
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
		}
	}
	return 0
}
