package atrion

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// This file holds the small pieces every adapter needs, so they live once:
// outcome classification of an HTTP status, the jittered Retry-After, and
// the rejection body.

// ClassifyHTTPStatus maps an HTTP status to an outcome class: 5xx is a
// failure; 4xx (including 499, client closed) is ignored; anything else is
// a success.
func ClassifyHTTPStatus(code int) Class {
	switch {
	case code >= 500:
		return Failure
	case code >= 400:
		return Ignored
	default:
		return Success
	}
}

// JitterRetryAfter spreads a retry hint over [d, 1.5·d) so that rejected
// clients do not come back in one wave; the result is at least one
// millisecond.
func JitterRetryAfter(d time.Duration) time.Duration {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// RetryAfterSeconds is the Retry-After header value for d: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// AppendRejectionJSON appends the small JSON body adapters send with a
// rejection, e.g.
//
//	{"error":"overloaded","reason":"circuit_open","mode":"CIRCUIT_OPEN","retry_after_ms":1500}
func AppendRejectionJSON(b []byte, d Decision, retry time.Duration) []byte {
	b = append(b, `{"error":"overloaded","reason":"`...)
	b = append(b, d.Reason.String()...)
	b = append(b, `","mode":"`...)
	b = append(b, d.Mode.String()...)
	b = append(b, `","retry_after_ms":`...)
	b = strconv.AppendInt(b, retry.Milliseconds(), 10)
	return append(b, '}')
}
