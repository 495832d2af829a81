package httpx

import (
	"context"
	"strings"
	"time"
)

// DefaultDeadlineHeader is the header the adapters' WithDeadlineHeader
// reads when given no name.
const DefaultDeadlineHeader = "X-Request-Timeout"

// MaxTimeout bounds a timeout read from a header: a longer one is read as
// this (a caller that waits an hour says no more than one that waits an
// hour to admission by deadline).
const MaxTimeout = time.Hour

// ParseTimeout reads a timeout header's value: a gRPC timeout (1 to 8
// digits and a unit, H, M, S, m, u or n: "100m" is 100 ms, as grpc-timeout
// carries it) or a Go duration ("250ms", "1.5s"). A value that is neither,
// zero or negative is no timeout (ok false): a bad header must never
// refuse a request; a longer one than MaxTimeout is MaxTimeout.
func ParseTimeout(v string) (d time.Duration, ok bool) {
	if v == "" || len(v) > 32 {
		return 0, false
	}
	if d, ok = grpcTimeout(v); !ok && !digitsAndUnit(v) {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, false
		}
		ok = true
	}
	if !ok || d <= 0 {
		return 0, false
	}
	return min(d, MaxTimeout), true
}

// digitsAndUnit reports whether v is digits and a unit of grpc-timeout's
// syntax, whose "m" is milliseconds, never Go's minutes (even with too
// many digits to be a grpc-timeout).
func digitsAndUnit(v string) bool {
	for _, c := range v[:len(v)-1] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) > 1 && strings.IndexByte(grpcUnits, v[len(v)-1]) >= 0
}

// grpcUnits are grpc-timeout's units, and grpcUnitDurations theirs.
const grpcUnits = "HMSmun"

var grpcUnitDurations = [...]time.Duration{time.Hour, time.Minute, time.Second, time.Millisecond, time.Microsecond, time.Nanosecond}

// grpcTimeout reads v in grpc-timeout's syntax: at most 8 digits, then
// the unit.
func grpcTimeout(v string) (time.Duration, bool) {
	n := len(v) - 1
	if n < 1 || n > 8 {
		return 0, false
	}
	i := strings.IndexByte(grpcUnits, v[n])
	if i < 0 {
		return 0, false
	}
	unit := grpcUnitDurations[i]
	var x int64
	for _, c := range v[:n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		x = 10*x + int64(c-'0')
	}
	// 8 digits of hours overflow a Duration: clamp before multiplying
	if time.Duration(x) > MaxTimeout/unit {
		return MaxTimeout, true
	}
	return time.Duration(x) * unit, true
}

// Deadline is the time a request's caller has left: the sooner of its
// context's deadline (ctx may be nil) and the timeout in header (the
// value of the header WithDeadlineHeader names; "" for none), counted
// from now. ok is false when it has neither.
func Deadline(ctx context.Context, header string) (left time.Duration, ok bool) {
	if ctx != nil {
		if dl, has := ctx.Deadline(); has {
			left, ok = time.Until(dl), true
		}
	}
	if header != "" {
		if d, has := ParseTimeout(header); has && (!ok || d < left) {
			left, ok = d, true
		}
	}
	return left, ok
}
