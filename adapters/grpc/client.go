package atrgrpc

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/atrion-go/atrion/adapters/internal/guard"
	"github.com/atrion-go/atrion/adapters/internal/hop"
	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryClientInterceptor guards unary calls to a dependency: it admits
// each call on its method's route and, once the route sheds, fails calls
// at once with the rejection status (codes.Unavailable by default)
// instead of sending them to a dependency that is failing. It records the
// outcome and latency of every call it lets through, all of its retry
// attempts included.
func UnaryClientInterceptor(a *atrion.Atrion, opts ...Option) grpc.UnaryClientInterceptor {
	c := newConfig(a, opts)
	g := c.guard(a, metadata.ValueFromOutgoingContext)
	side := newClientSide(a)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		var ad guard.Admission
		k, ok := g.Admit(call{ctx: ctx, method: method}, &ad)
		if !ok {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}
		if !ad.Decision.Allowed {
			hop.MarkRelayed(ctx)
			_, err := c.rejection(k, sideClient, ad.Decision)
			return err
		}
		th, terr := c.throttle(side, ctx, cc, method)
		if terr != nil {
			ad.Ticket.Done(atrion.Ignored) // never sent: says nothing of the dependency
			return terr
		}
		class := atrion.Failure // unless the invoker returns: a panic is a failure, and goes on
		defer func() { ad.Ticket.Done(class) }()
		err := invoker(k.ctx, method, req, reply, cc, callOpts...)
		pushed := pushedBack(err, askedTrailer(callOpts))
		side.settle(ctx, th, pushed)
		class = c.clientOutcome(k.ctx, err, pushed)
		return err
	}
}

// StreamClientInterceptor guards streams to a dependency: it admits each
// stream when it starts and, once the route sheds, fails new streams at
// once with the rejection status. It records each stream's final status
// (the error that ends it, or its context ending first) and its time to
// first response (see the package doc).
func StreamClientInterceptor(a *atrion.Atrion, opts ...Option) grpc.StreamClientInterceptor {
	c := newConfig(a, opts)
	g := c.guard(a, metadata.ValueFromOutgoingContext)
	side := newClientSide(a)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		var ad guard.Admission
		k, ok := g.Admit(call{ctx: ctx, method: method}, &ad)
		if !ok {
			return streamer(ctx, desc, cc, method, callOpts...)
		}
		if !ad.Decision.Allowed {
			hop.MarkRelayed(ctx)
			_, err := c.rejection(k, sideClient, ad.Decision)
			return nil, err
		}
		th, terr := c.throttle(side, ctx, cc, method)
		if terr != nil {
			ad.Ticket.Done(atrion.Ignored) // never sent: says nothing of the dependency
			return nil, terr
		}
		// the stream settles its ticket when it ends, not when this returns
		w := &clientStream{a: a, c: c, ctx: k.ctx, t: ad.Ticket, serverStreams: desc.ServerStreams, side: side, th: th}
		w.timer.start(a)
		class := atrion.Failure // unless the streamer returns: a panic is a failure, and goes on
		defer func() {
			if w.ClientStream == nil { // no stream took the ticket over
				doneStream(&w.t, class, &w.timer)
			}
		}()
		var err error
		w.ClientStream, err = streamer(k.ctx, desc, cc, method, callOpts...)
		if err != nil {
			pushed := pushedBack(err, nil)
			side.settle(k.ctx, th, pushed)
			class, w.ClientStream = c.clientOutcome(k.ctx, err, pushed), nil
			return nil, err
		}
		w.stop = context.AfterFunc(k.ctx, func() { w.finish(k.ctx.Err(), nil) })
		return w, nil
	}
}

// clientStream times a client stream's first response and records the
// stream once, when it ends.
type clientStream struct {
	grpc.ClientStream
	a             *atrion.Atrion
	c             *config
	ctx           context.Context
	t             atrion.KeyTicket // without a key: clients name none
	serverStreams bool
	timer         streamTimer
	ended         atomic.Bool
	stop          func() bool // stops the context watch; set before the stream is returned
	side          *clientSide
	th            *hop.Throttle // nil: not throttled
}

// finish records the stream's outcome, once, for whichever way it ended
// first: err nil is a success. trailer is the stream's trailer when it has
// been received, else nil.
func (s *clientStream) finish(err error, trailer metadata.MD) {
	if s.ended.CompareAndSwap(false, true) {
		pushed := pushedBack(err, trailer)
		s.side.settle(s.ctx, s.th, pushed)
		doneStream(&s.t, s.c.clientOutcome(s.ctx, err, pushed), &s.timer)
	}
}

// end finishes the stream from the caller's goroutine and stops watching
// its context.
func (s *clientStream) end(err error) {
	s.finish(err, nil)
	s.stop()
}

// endReceived is end for a stream whose status has been received (RecvMsg
// returned an error): its trailer is there to read.
func (s *clientStream) endReceived(err error) {
	s.finish(err, s.ClientStream.Trailer())
	s.stop()
}

// SendMsg sends a message to the server: an input. An error other than
// io.EOF ends the stream (io.EOF means the stream has ended and RecvMsg
// tells the status).
func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	switch {
	case err == nil:
		s.timer.input()
	case err != io.EOF:
		s.end(err)
	}
	return err
}

// CloseSend closes the sending direction: the last input.
func (s *clientStream) CloseSend() error {
	err := s.ClientStream.CloseSend()
	s.timer.input()
	return err
}

// Header waits for the server's header: a response. An error ends the
// stream.
func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	switch {
	case err != nil:
		s.end(err)
	case md != nil:
		s.timer.output()
	}
	return md, err
}

// RecvMsg receives a message from the server: a response. io.EOF ends the
// stream with success, any other error with that error; for a stream
// without server streaming, the one message ends it.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		s.timer.output()
		if !s.serverStreams {
			s.end(nil)
		}
	case err == io.EOF:
		s.end(nil)
	default:
		s.endReceived(err)
	}
	return err
}
