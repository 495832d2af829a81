// Package hop is what Atrion's adapters share across hops, where one
// guarded service calls another: the names of the headers and metadata
// they exchange, the pushback a server's rejection carries and the
// client-side adaptive throttling it feeds, the retry budget, and the
// per-request state an inbound adapter puts in the request's context for
// the outbound ones (a relayed rejection, the priority and client key to
// propagate).
package hop

// Header names, HTTP. A rejection by an Atrion-guarded HTTP server
// carries RejectHeader (beside 503 or 429 and Retry-After); atrhttp's
// Transport reads it as pushback. Propagated values (PriorityHeader,
// ClientKeyHeader, TimeoutHeader) and the attempt count are sent by the
// Transport and read by the inbound adapters from trusted hops only.
const (
	// RejectHeader names the reason of a rejection: shed, circuit_open,
	// recovering, voltage or banned.
	RejectHeader = "Atrion-Reject"
	// RetryAfterMsHeader is the rejection's retry hint in milliseconds,
	// finer than Retry-After's whole seconds.
	RetryAfterMsHeader = "Atrion-Retry-After-Ms"
	// PreviousAttemptsHeader counts the attempts of a call made before
	// this one (absent or 0 on a first attempt), as gRPC's
	// grpc-previous-rpc-attempts does.
	PreviousAttemptsHeader = "Atrion-Previous-Attempts"
	// PriorityHeader is the caller's priority: critical, high, normal,
	// low or bulk.
	PriorityHeader = "Atrion-Priority"
	// ClientKeyHeader is the client key the caller's request was admitted
	// with.
	ClientKeyHeader = "Atrion-Client-Key"
	// TimeoutHeader is the time left to the caller's deadline, in
	// grpc-timeout's syntax (at most 8 digits and a unit: H, M, S, m, u,
	// n; e.g. "250m").
	TimeoutHeader = "Atrion-Timeout"
)

// Metadata keys, gRPC (lower case, as HTTP/2 sends them). The deadline
// travels as gRPC's own grpc-timeout, and retries carry gRPC's
// grpc-previous-rpc-attempts.
const (
	PriorityKey         = "atrion-priority"
	ClientKeyKey        = "atrion-client-key"
	PreviousAttemptsKey = "grpc-previous-rpc-attempts"
)

// Retry reads a previous-attempts header or metadata value: true for a
// count of 1 or more (at most 9 digits, ASCII only); anything else, a bad
// or hostile value included, is a first attempt.
func Retry(v string) bool {
	if v == "" || len(v) > 9 {
		return false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n > 0
}
