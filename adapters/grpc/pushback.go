package atrgrpc

import (
	"context"
	"errors"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// clientOutcome classifies a finished client call. A server that rejected
// the call itself, with a pushback, is not failing: it is shedding load,
// as an Atrion server does, and says when to try again. Such a call is
// ignored, so that a server's shedding never opens its clients' circuits
// (which would then shed the server's recovery too). Anything else goes
// to outcome. pushedBack is pushedBack of the call's error and trailer.
func (c *config) clientOutcome(ctx context.Context, err error, pushedBack bool) atrion.Class {
	if pushedBack {
		return atrion.Ignored
	}
	return c.outcome(ctx, err)
}

// pushedBack reports whether err is a server's rejection with a pushback:
// a status Unavailable or ResourceExhausted with a grpc-retry-pushback-ms
// trailer (gRFC A6) or a google.rpc.RetryInfo detail (as Atrion's server
// interceptors send both).
func pushedBack(err error, trailer metadata.MD) bool {
	if code := codeOf(err); code != codes.Unavailable && code != codes.ResourceExhausted {
		return false
	}
	if len(trailer.Get(PushbackTrailer)) > 0 {
		return true
	}
	for _, d := range statusDetails(err) {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

// statusDetails is the details of err's gRPC status; nil when it has none.
func statusDetails(err error) []any {
	se, ok := errors.AsType[interface {
		error
		GRPCStatus() *status.Status
	}](err)
	if !ok {
		return nil
	}
	return se.GRPCStatus().Details()
}

// askedTrailer returns, once a unary call has returned, the trailer its
// caller asked for with grpc.Trailer; nil when it asked for none. Asking
// for it ourselves would cost every call allocations; a call without it
// is read by its RetryInfo detail alone.
func askedTrailer(opts []grpc.CallOption) metadata.MD {
	for _, o := range opts {
		if t, ok := o.(grpc.TrailerCallOption); ok && t.TrailerAddr != nil {
			return *t.TrailerAddr
		}
	}
	return nil
}
