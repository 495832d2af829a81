package atrgrpc

import (
	"context"
	"errors"
	"strconv"

	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrThrottled is what errors.Is finds in the error of a call that a
// client interceptor's adaptive throttling rejected locally, without
// sending it, because the server has been pushing back. errors.Is finds
// ErrRejected in it too: it is a local rejection.
var ErrThrottled = errors.New("atrgrpc: call throttled locally")

// ThrottledError is the error of a call that a client interceptor's
// adaptive throttling rejected locally: codes.Unavailable, without a
// pushback (a local rejection says nothing of when the server will
// accept).
type ThrottledError struct {
	Method string  // the call's full method name
	Share  float64 // the share of calls the throttle rejects now
}

// Error describes the rejection.
func (e *ThrottledError) Error() string { return e.GRPCStatus().Err().Error() }

// GRPCStatus returns codes.Unavailable with a message naming the share.
func (e *ThrottledError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, "atrion: client throttled the call: the server is pushing back (rejecting "+
		strconv.FormatFloat(100*e.Share, 'f', 0, 64)+"% of calls)")
}

// Is reports whether target is ErrThrottled or ErrRejected.
func (e *ThrottledError) Is(target error) bool {
	return target == ErrThrottled || target == ErrRejected
}

// WithoutThrottling turns the client interceptors' adaptive throttling
// off: a server's pushback is still ignored by the route, but the client
// keeps sending at the caller's rate. Server interceptors ignore it.
func WithoutThrottling() Option {
	return func(c *config) { c.noThrottle = true }
}

// clientSide is what the client interceptors keep beside the config: a
// throttle per target (cc.Target()).
type clientSide struct {
	a    *atrion.Atrion
	deps *hop.Throttles
}

func newClientSide(a *atrion.Atrion) *clientSide {
	hop.Switch(a).Store(true) // inbound calls on a now carry the state calls mark
	return &clientSide{a: a, deps: hop.NewThrottles(false, hop.BudgetRule{})}
}

// now is the engine's time in ns, for the throttles' windows.
func (s *clientSide) now() int64 { return s.a.Now().UnixNano() }

// throttle returns the call's throttle and, when it rejects the call, the
// error to end it with (nil when the call may be sent, or throttling is
// off: then the throttle is nil).
func (c *config) throttle(s *clientSide, ctx context.Context, cc *grpc.ClientConn, method string) (*hop.Throttle, error) {
	if c.noThrottle {
		return nil, nil
	}
	target := ""
	if cc != nil {
		target = cc.Target()
	}
	th, _ := s.deps.For(target)
	if th.Allow(s.now()) {
		return th, nil
	}
	hop.MarkRelayed(ctx)
	return th, &ThrottledError{Method: method, Share: th.RejectShare(s.now())}
}

// settle tells the throttle th (nil: none) whether the server accepted the
// call, and marks the inbound request a refused call relays.
func (s *clientSide) settle(ctx context.Context, th *hop.Throttle, pushedBack bool) {
	if pushedBack {
		hop.MarkRelayed(ctx)
	}
	if th != nil {
		th.Done(s.now(), !pushedBack)
	}
}

// serverOutcome classifies a finished server call: a handler that ends
// with a refusal of one of its own outbound calls (a local rejection or
// throttling by this package's client interceptors, ErrRejected, or a
// server's pushback passed on) relays its dependency's state: ignored,
// not the method's failure. It reads the error alone, so that it costs
// the call nothing.
func (c *config) serverOutcome(ctx context.Context, err error) atrion.Class {
	if err != nil && (errors.Is(err, ErrRejected) || pushedBack(err, nil)) {
		return atrion.Ignored
	}
	return c.outcome(ctx, err)
}
