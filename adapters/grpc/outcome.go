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
// DeadlineExceeded, Unimplemented, Internal, Unavailable and DataLoss are
// failures of the service; OK is a success; Canceled is a caller that gave
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

// errDeadline is what a call past its deadline is classified as.
var errDeadline = status.Error(codes.DeadlineExceeded, "deadline exceeded")

// outcome classifies a finished call: the context's rules first (a
// caller that went away is Canceled: a slow sample if it waited past the
// route's latency baseline, else ignored; a call past its deadline is a
// deadline failure), then the classifier.
func (c *config) outcome(ctx context.Context, err error) atrion.Class {
	switch ctxErr := ctx.Err(); {
	case ctxErr == nil:
		return c.classify(err)
	case errors.Is(ctxErr, context.DeadlineExceeded) || nearDeadline(ctx):
		return c.classify(errDeadline)
	default:
		return atrion.Canceled
	}
}

// deadlineSlack: a cancellation this close to the call's deadline is read
// as the deadline. A client's deadline reaches a server as a reset
// (RST_STREAM), which can arrive before the server's own timer fires: the
// server's deadline is the client's plus the time its headers took to
// arrive, and the reset is that far behind the client's deadline too.
const deadlineSlack = 20 * time.Millisecond

// nearDeadline reports whether ctx has a deadline that has passed or is
// within deadlineSlack.
func nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineSlack
}
