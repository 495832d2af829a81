package httpx

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
)

// Rejection returns what an HTTP adapter sends when it rejects a request
// (with status 503): the Retry-After header value, whole seconds of the
// jittered hint, and the small JSON body of AppendRejectionJSON.
func Rejection(d atrion.Decision) (retryAfter string, body []byte) {
	retry := JitterRetryAfter(d.RetryAfter)
	return RetryAfterSeconds(retry), AppendRejectionJSON(make([]byte, 0, 96), d, retry)
}

// RejectionError is the "error" of a rejection's body: "circuit_open"
// (the route is failing: retrying soon will not help), "recovering" (the
// route is coming back: a share of calls passes), "banned" (the client's
// key), "key_share" (the client's key is over its share of a busy route:
// send less), "deadline" (the caller's time left is shorter than the
// route needs: the same call will not fare better), and "overloaded" for the in-flight limit (ReasonShed) and a
// voltage below the resistance (ReasonVoltage): the route is busy, not
// broken.
func RejectionError(why atrion.Reason) string {
	switch why {
	case atrion.ReasonCircuitOpen, atrion.ReasonRecovering, atrion.ReasonBanned, atrion.ReasonKeyShare, atrion.ReasonDeadline:
		return why.String()
	}
	return "overloaded"
}

// WriteRejection is the shared rejection writer of the HTTP adapters'
// default reject handlers: it sets, with set (the framework's header
// setter), Retry-After (whole seconds of the jittered hint), the pushback
// marker hop.RejectHeader (the reason) that Atrion's clients read, the
// hint in milliseconds (hop.RetryAfterMsHeader) and Cache-Control:
// no-store (a ReasonDeadline refusal gets the marker and Cache-Control
// alone: no retry hint), and returns the status (RejectStatus) and the JSON body
// (AppendRejectionJSON) to send.
func WriteRejection(set func(name, value string), d atrion.Decision) (status int, body []byte) {
	if d.Reason == atrion.ReasonDeadline {
		// no retry hint: the same call, with its deadline, cannot fare better
		set(hop.RejectHeader, d.Reason.String())
		set("Cache-Control", "no-store")
		return RejectStatus(d.Reason), AppendRejectionJSON(make([]byte, 0, 96), d, 0)
	}
	retry := JitterRetryAfter(d.RetryAfter)
	set("Retry-After", RetryAfterSeconds(retry))
	set(hop.RejectHeader, d.Reason.String())
	set(hop.RetryAfterMsHeader, strconv.FormatInt(retry.Milliseconds(), 10))
	set("Cache-Control", "no-store")
	return RejectStatus(d.Reason), AppendRejectionJSON(make([]byte, 0, 96), d, retry)
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
//	{"error":"circuit_open","reason":"circuit_open","mode":"CIRCUIT_OPEN","retry_after_ms":1500}
//
// "error" names why, as a client acts on it (RejectionError); "reason" is
// the engine's atrion.Reason.
func AppendRejectionJSON(b []byte, d atrion.Decision, retry time.Duration) []byte {
	b = append(b, `{"error":"`...)
	b = append(b, RejectionError(d.Reason)...)
	b = append(b, `","reason":"`...)
	b = append(b, d.Reason.String()...)
	b = append(b, `","mode":"`...)
	b = append(b, d.Mode.String()...)
	b = append(b, `","retry_after_ms":`...)
	b = strconv.AppendInt(b, retry.Milliseconds(), 10)
	return append(b, '}')
}
