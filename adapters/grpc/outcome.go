package atrgrpc

import (
	"context"
	"errors"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ClassifyCode maps a status code to an outcome class: Unknown,
// DeadlineExceeded (the handler's own call timing out: a call past its
// caller's deadline never reaches the classifier, see the package doc),
// Unimplemented, Internal, Unavailable and DataLoss are failures of the
// service; OK is a success; Canceled is a caller that gave
// up (atrion.Canceled: a slow sample if it waited past the route's latency
// baseline, else ignored); every other code (the codes that blame the
// caller: InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
// ResourceExhausted, FailedPrecondition, Aborted, OutOfRange,
// Unauthenticated) is ignored, as are codes gRPC does not define.
func ClassifyCode(code codes.Code) atrion.Class {
	switch code {
	case codes.OK:
		return atrion.Success
	case codes.Canceled:
		return atrion.Canceled
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented,
		codes.Internal, codes.Unavailable, codes.DataLoss:
		return atrion.Failure
	default:
		return atrion.Ignored
	}
}

// Classify is the default Classifier: ClassifyCode of the error's status
// code. An error without a status is read as gRPC reads a handler's
// error: a context error is Canceled or DeadlineExceeded, anything else
// Unknown (a failure).
func Classify(err error) atrion.Class { return ClassifyCode(codeOf(err)) }

// codeOf returns the status code of err without allocating (unlike
// status.Code for a wrapped status): OK for nil, the code of the first
// status in err's chain, Canceled or DeadlineExceeded for a context error,
// Unknown otherwise.
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if se, ok := errors.AsType[interface {
		error
		GRPCStatus() *status.Status
	}](err); ok {
		return se.GRPCStatus().Code()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// outcome classifies a finished call. A call that ended with
// DeadlineExceeded once its context's deadline had passed (the caller's
// deadline: on a server the client's, as grpc-timeout carried it), or
// that ended any way once its caller had gone (its context done), is its
// caller's outcome: Canceled, a slow sample if it waited past the route's
// latency baseline, else ignored. A caller's short deadline says nothing
// of the route's health (SPEC §3.10, as the HTTP adapters read a client
// that went away). A DeadlineExceeded returned before that deadline, or
// without one, cannot be the caller's (a context derived from the call's
// expires no sooner, and a cancellation reaches it as Canceled): it is
// the handler's own downstream call timing out (on a client, the
// server's), and the classifier reads it, a failure. The deadline is
// read from the clock, not from the context's error, since the
// context's timer fires a little after it.
func (c *config) outcome(ctx context.Context, err error) atrion.Class {
	if codeOf(err) == codes.DeadlineExceeded {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return atrion.Canceled
		}
		if refusedForDeadline(err) {
			return atrion.Ignored // refused for the caller's time, not failing: a server's, or a relayed one
		}
		return c.classify(err)
	}
	if ctx.Err() != nil {
		return atrion.Canceled
	}
	return c.classify(err)
}
