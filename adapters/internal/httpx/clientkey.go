package httpx

import (
	"net/http"

	atrion "github.com/atrion-go/atrion/core"
)

// ClientFault reports whether an HTTP status says the request was its
// client's fault, which counts against the request's client key
// (atrion.KeyTicket.Blame) though not against its route: a malformed
// request (400, 411, 413, 414, 415, 422, 431), an unauthorised one (401,
// 403), a wrong method (405), or one the application throttled itself
// (429). Not Found, Conflict, Precondition Failed and the other 4xx are
// ordinary answers to ordinary clients.
func ClientFault(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusLengthRequired, http.StatusRequestEntityTooLarge,
		http.StatusRequestURITooLong, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity,
		http.StatusRequestHeaderFieldsTooLarge, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusMethodNotAllowed, http.StatusTooManyRequests:
		return true
	}
	return false
}

// RejectStatus is the HTTP status of a rejection: 429 Too Many Requests
// for the client's own doing, a banned client key (ReasonBanned) or a key
// over its share of a busy route (ReasonKeyShare: send less, or retry
// after the hint); 504 Gateway Timeout for a caller whose time left is
// shorter than the route needs (ReasonDeadline); 503 Service Unavailable
// otherwise (the service's state).
func RejectStatus(why atrion.Reason) int {
	if ClientsDoing(why) {
		return http.StatusTooManyRequests
	}
	if why == atrion.ReasonDeadline {
		return http.StatusGatewayTimeout // the caller's time is too short: no answer in time
	}
	return http.StatusServiceUnavailable
}

// ClientsDoing reports whether a rejection for why is the client's doing
// (its key banned, or over its share) rather than the service's state.
func ClientsDoing(why atrion.Reason) bool {
	return why == atrion.ReasonBanned || why == atrion.ReasonKeyShare
}
