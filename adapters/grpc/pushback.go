package atrgrpc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// maxPushback caps the pause a server may ask of a client: the engine's
// own hints go up to five minutes, and a bad trailer must not hold a
// route for longer.
const maxPushback = 5 * time.Minute

// holds keeps the routes whose server asked the client to pause (its
// pushback): until the pause has passed, the client interceptors reject
// calls on the route locally instead of sending them.
type holds struct {
	n     atomic.Int32 // routes held: the admitted path's only cost
	mu    sync.Mutex
	until map[string]time.Time
}

// hold pauses route for wait from now.
func (h *holds) hold(a *atrion.Atrion, route string, wait time.Duration) {
	if wait <= 0 {
		return
	}
	until := a.Now().Add(min(wait, maxPushback))
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.until == nil {
		h.until = make(map[string]time.Time)
	}
	if until.After(h.until[route]) {
		h.until[route] = until
	}
	h.n.Store(int32(len(h.until)))
}

// check returns the decision for a call on a held route: rejected, with
// the rest of the pause as its retry hint and the route's mode and
// resistance. held is false when the route is not held, or no longer.
func (h *holds) check(a *atrion.Atrion, route string) (d atrion.Decision, held bool) {
	if h.n.Load() == 0 {
		return d, false
	}
	now := a.Now()
	h.mu.Lock()
	until, ok := h.until[route]
	if ok && !now.Before(until) {
		delete(h.until, route)
		h.n.Store(int32(len(h.until)))
		ok = false
	}
	h.mu.Unlock()
	if !ok {
		return d, false
	}
	d = atrion.Decision{Reason: atrion.ReasonShed, RetryAfter: until.Sub(now)}
	if s, tracked := a.Snapshot(route); tracked {
		d.Mode, d.Resistance = s.Mode, s.Resistance
	}
	return d, true
}

// clientOutcome classifies a finished client call. A server that rejected
// the call itself, asking for a pause (a pushback), is not failing: it is
// shedding load, as an Atrion server does. The call is ignored, and its
// route held for the pause. Anything else goes to outcome. trailer is the
// call's trailer when the interceptor can read it, else nil.
func (c *config) clientOutcome(a *atrion.Atrion, ctx context.Context, fullMethod string, err error, trailer metadata.MD) atrion.Class {
	if wait, ok := pushbackOf(err, trailer); ok {
		c.holds.hold(a, c.route(fullMethod), wait)
		return atrion.Ignored
	}
	return c.outcome(ctx, err)
}

// pushbackOf returns the pause a server asked for with err: a status
// Unavailable or ResourceExhausted that carries a pushback, in its
// grpc-retry-pushback-ms trailer (gRFC A6) or in a google.rpc.RetryInfo
// detail (as Atrion's server interceptors send both). A malformed or
// negative trailer asks not to retry at all (A6): the longest pause.
func pushbackOf(err error, trailer metadata.MD) (time.Duration, bool) {
	if code := codeOf(err); code != codes.Unavailable && code != codes.ResourceExhausted {
		return 0, false
	}
	if vs := trailer.Get(PushbackTrailer); len(vs) > 0 {
		ms, perr := strconv.ParseInt(vs[0], 10, 64)
		if perr != nil || ms < 0 {
			return maxPushback, true
		}
		return time.Duration(min(ms, maxPushback.Milliseconds())) * time.Millisecond, true
	}
	se, ok := errors.AsType[interface {
		error
		GRPCStatus() *status.Status
	}](err)
	if !ok {
		return 0, false
	}
	for _, d := range se.GRPCStatus().Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return max(ri.GetRetryDelay().AsDuration(), 0), true
		}
	}
	return 0, false
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
