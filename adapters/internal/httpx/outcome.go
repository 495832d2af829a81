package httpx

import (
	"context"
	"errors"

	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
)

// Classify classifies a finished HTTP exchange. A request whose context
// was cancelled (the client went away) is Canceled whatever happened: a
// slow sample when the client waited past the route's latency baseline,
// else ignored; a non-nil err (a failed call, an error the handler
// returned without a status) is a Failure; otherwise the status decides
// (ClassifyStatus).
func Classify(code int, err, ctxErr error) atrion.Class {
	switch {
	case ctxErr != nil && errors.Is(ctxErr, context.Canceled):
		return atrion.Canceled
	case err != nil:
		return atrion.Failure
	default:
		return ClassifyStatus(code)
	}
}

// ClassifyRequest classifies a finished exchange of a request whose
// context is ctx, as the adapters' default classifiers do: a 429, 502 or
// 503 that relays a refusal of one of the request's outbound calls
// (hop.RelayedStatus) is ignored, not the relaying route's failure;
// anything else is Classify with ctx's error.
func ClassifyRequest(ctx context.Context, code int, err error) atrion.Class {
	if hop.RelayedStatus(ctx, code) {
		return atrion.Ignored
	}
	return Classify(code, err, ctx.Err())
}

// ClassifyStatus maps an HTTP status to an outcome class: 5xx is a
// failure; 4xx (including 499, client closed) is ignored; anything else
// is a success.
func ClassifyStatus(code int) atrion.Class {
	switch {
	case code >= 500:
		return atrion.Failure
	case code >= 400:
		return atrion.Ignored
	default:
		return atrion.Success
	}
}

// ErrorStatus returns the HTTP status for a handler's returned error: the
// status of the first error in err's chain of type E (e.g.
// *echo.HTTPError, *fiber.Error), read with status; 500 for any other
// error; 0 for nil.
func ErrorStatus[E error](err error, status func(E) int) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[E](err); ok {
		if code := status(e); code >= 100 && code <= 999 {
			return code
		}
	}
	return 500
}
