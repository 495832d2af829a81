package atrgrpc

import (
	"errors"
	"strconv"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// PushbackTrailer is the trailer in which the server interceptors tell a
// rejected client how long to wait, in milliseconds; grpc-go's retry
// policy honours it (gRFC A6).
const PushbackTrailer = "grpc-retry-pushback-ms"

// ErrRejected is what errors.Is finds in the error of a call that an
// interceptor of this package rejected in this process: on a client, a
// call shed locally that never reached the network. (A remote server's
// rejection arrives as a plain status error: codes.Unavailable with a
// RetryInfo detail.)
var ErrRejected = errors.New("atrgrpc: call rejected")

// RejectedError is the error a rejected call ends with, unless a reject
// handler replaces it. Its gRPC status (GRPCStatus) has the rejection code
// (codes.Unavailable by default), a message naming the reason and mode,
// and a google.rpc.RetryInfo detail with RetryAfter.
type RejectedError struct {
	Method     string          // the call's full method name
	Side       string          // "server" or "client": which interceptor rejected it
	Decision   atrion.Decision // the engine's decision
	RetryAfter time.Duration   // the jittered retry hint the error carries
	status     *status.Status
}

// Error returns the status as a gRPC status error prints it.
func (e *RejectedError) Error() string { return e.status.Err().Error() }

// GRPCStatus returns the status the call ends with; gRPC and status.Code
// read it.
func (e *RejectedError) GRPCStatus() *status.Status { return e.status }

// Is reports whether target is ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// rejection builds the rejection of a call decided d and the error the
// call ends with (the reject handler's, when it returns one), with the
// jittered hint it carries; side says which interceptor decided.
func (c *config) rejection(k call, side string, d atrion.Decision) (retry time.Duration, err error) {
	code := c.rejectCode
	switch {
	case httpx.ClientsDoing(d.Reason):
		code = codes.ResourceExhausted // the client's doing: its key banned or over its share (WithClientKey)
	case d.Reason == atrion.ReasonDeadline:
		code = codes.DeadlineExceeded // the caller's time is shorter than the route needs
	}
	rej := newRejection(k.method, side, d, code)
	err = rej
	if c.reject != nil {
		if herr := c.reject(k.ctx, rej); herr != nil {
			err = herr
		}
	}
	return rej.RetryAfter, err
}

// The sides of a call, as RejectedError.Side names them.
const (
	sideServer = "server"
	sideClient = "client"
)

// newRejection builds the default rejection of a call, with the hint
// jittered so that rejected callers do not return in one wave.
func newRejection(fullMethod, side string, d atrion.Decision, code codes.Code) *RejectedError {
	if d.Reason == atrion.ReasonDeadline {
		return deadlineRejection(fullMethod, side, d, code)
	}
	retry := httpx.JitterRetryAfter(d.RetryAfter)
	b := make([]byte, 0, 96)
	b = append(b, "atrion: "...)
	b = append(b, side...)
	b = append(b, " rejected the call ("...)
	b = append(b, d.Reason.String()...)
	b = append(b, ", "...)
	b = append(b, d.Mode.String()...)
	b = append(b, "); retry after "...)
	b = strconv.AppendInt(b, retry.Milliseconds(), 10)
	b = append(b, "ms"...)
	st := status.New(code, string(b))
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}); err == nil {
		st = withInfo
	}
	return &RejectedError{Method: fullMethod, Side: side, Decision: d, RetryAfter: retry, status: st}
}

// pushback is the trailer carrying retry in whole milliseconds, at least 1
// (0 would ask for an immediate retry); a call refused for its deadline
// (retry 0) gets −1: gRFC A6's "do not retry".
func pushback(retry time.Duration, d atrion.Decision) metadata.MD {
	if d.Reason == atrion.ReasonDeadline {
		return metadata.MD{PushbackTrailer: []string{"-1"}}
	}
	return metadata.MD{PushbackTrailer: []string{strconv.FormatInt(max(retry.Milliseconds(), 1), 10)}}
}

// deadlineDomain and deadlineReason name, in a google.rpc.ErrorInfo
// detail, a refusal for the caller's deadline (ReasonDeadline), which a
// client reads as its own time, not the server's failure.
const (
	deadlineDomain = "atrion"
	deadlineReason = "DEADLINE"
)

// deadlineRejection is the rejection of a call whose caller's time left
// is shorter than the route needs: DeadlineExceeded, an ErrorInfo detail
// naming it and no RetryInfo (the same call, with its deadline, cannot
// fare better).
func deadlineRejection(fullMethod, side string, d atrion.Decision, code codes.Code) *RejectedError {
	st := status.New(code, "atrion: "+side+" rejected the call (deadline, "+d.Mode.String()+"): the time left is shorter than the route needs")
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Domain: deadlineDomain, Reason: deadlineReason}); err == nil {
		st = withInfo
	}
	return &RejectedError{Method: fullMethod, Side: side, Decision: d, status: st}
}

// refusedForDeadline reports whether err is a server's refusal of the
// call for its caller's deadline (deadlineRejection).
func refusedForDeadline(err error) bool {
	for _, d := range statusDetails(err) {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.Domain == deadlineDomain && ei.Reason == deadlineReason {
			return true
		}
	}
	return false
}
