package atrgrpc

import (
	"context"
	"io"
	"slices"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// UnaryServerInterceptor guards a server's unary methods: it admits each
// call on its method's route, rejects it (with a retry pushback trailer)
// when the route sheds, and records the outcome and latency of every
// admitted call.
func UnaryServerInterceptor(a *atrion.Atrion, opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(a, opts)
	g := c.serverGuard(a)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var ad guard.Admission
		k, ok := g.Admit(call{ctx: ctx, method: info.FullMethod}, &ad)
		if !ok {
			return handler(ctx, req)
		}
		if !ad.Decision.Allowed {
			retry, err := c.rejection(k, sideServer, ad.Decision)
			_ = grpc.SetTrailer(k.ctx, pushback(retry, ad.Decision)) // fails only outside a server call
			return nil, err
		}
		class := atrion.Failure // unless the handler returns: a panic is a failure, and goes on
		defer func() { ad.Ticket.Done(class) }()
		resp, err := handler(k.ctx, req)
		blame(&ad.Ticket, err, false)
		class = c.serverOutcome(k.ctx, err)
		return resp, err
	}
}

// StreamServerInterceptor guards a server's streaming methods: it admits
// each stream when it starts, rejects it (with a retry pushback trailer)
// when the route sheds, and records the final status and the stream's
// time to first response (see the package doc). Calls that the server's
// unknown-service handler serves (grpc.UnknownServiceHandler: a proxy, a
// gateway), for methods it did not register, share one route,
// atrion.UnmatchedRoute, whatever WithRouteID says, so that clients cannot
// mint routes; Unimplemented is ignored there, not a failure.
func StreamServerInterceptor(a *atrion.Atrion, opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(a, opts)
	g := c.serverGuard(a)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		// grpc-go passes no service to the unknown-service handler: a
		// method the server did not register, named by the client
		var ad guard.Admission
		k, ok := g.Admit(call{ctx: ss.Context(), method: info.FullMethod, unregistered: srv == nil}, &ad)
		if !ok {
			return handler(srv, ss)
		}
		if !ad.Decision.Allowed {
			retry, err := c.rejection(k, sideServer, ad.Decision)
			ss.SetTrailer(pushback(retry, ad.Decision))
			return err
		}
		w := &serverStream{ServerStream: ss, ctx: k.ctx}
		w.timer.start(a)
		class := atrion.Failure // unless the handler returns: a panic is a failure, and goes on
		defer func() { doneStream(&ad.Ticket, class, &w.timer) }()
		err := handler(srv, w)
		blame(&ad.Ticket, err, k.unregistered)
		class = c.serverOutcome(k.ctx, err)
		if k.unregistered && codeOf(err) == codes.Unimplemented {
			class = atrion.Ignored // a method no one serves: the caller's mistake
		}
		return err
	}
}

// Reserve gives every method srv has registered (a *grpc.Server) a slot of
// its own in a (atrion.Atrion.Reserve), under the route ID that server
// interceptors built with opts give it, and the route that unregistered
// methods share: junk route IDs from elsewhere in the process can then
// never push one of them into the engine's overflow route, whose circuit
// the junk may have opened. Methods that WithSkipMethods skips, and the
// health and reflection services unless WithOperationalMethods, are left
// out. Call it after registering the services, before srv.Serve.
func Reserve(a *atrion.Atrion, srv interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}, opts ...Option) error {
	c := newConfig(a, opts)
	ids := []string{atrion.UnmatchedRoute}
	for name, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + name + "/" + m.Name
			if _, skip := c.skipMethods[full]; !skip && (c.operational || !operationalMethod(full)) {
				ids = append(ids, c.route(full))
			}
		}
	}
	slices.Sort(ids) // the first bad ID, if any, is the same on every run
	return a.Reserve(ids...)
}

// serverStream times a server stream's first response, and gives the
// handler the stream's context with the decision when asked to.
type serverStream struct {
	grpc.ServerStream
	ctx   context.Context
	timer streamTimer
}

// Context returns the stream's context.
func (s *serverStream) Context() context.Context { return s.ctx }

// RecvMsg receives a message from the client; a message, or the end of
// the client's messages, is an input.
func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil || err == io.EOF {
		s.timer.input()
	}
	return err
}

// SendMsg sends a message to the client: a response.
func (s *serverStream) SendMsg(m any) error {
	s.timer.output()
	return s.ServerStream.SendMsg(m)
}

// SendHeader sends the header to the client: a response.
func (s *serverStream) SendHeader(md metadata.MD) error {
	s.timer.output()
	return s.ServerStream.SendHeader(md)
}
