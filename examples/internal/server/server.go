// Package server is the scaffolding that the examples under examples/
// share: the -addr flag, an engine that prints its transitions, a
// loopback listener and a graceful stop, so that each example shows only
// its framework and its adapter.
package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/sink"
)

// Run serves an example: run is called with the context that Ctrl-C ends,
// the -addr flag (default 127.0.0.1:8080), stdout, and no ready channel.
type Run func(ctx context.Context, addr string, out io.Writer, ready chan<- string) error

// Main parses the flags and runs run until Ctrl-C.
func Main(run Run) {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// Engine returns an engine that prints every mode transition to out.
func Engine(out io.Writer) (*atrion.Atrion, error) {
	return atrion.New(atrion.WithObserver(sink.Console(out, false)))
}

// Listen binds addr, prints the address to out and sends it on ready
// (when not nil).
func Listen(addr string, out io.Writer, ready chan<- string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return ln, nil
}

// Serve serves on ln until ctx ends, then stops with shutdown; serve's
// error on a normal stop (http.ErrServerClosed, net.ErrClosed) is nil.
func Serve(ctx context.Context, serve func() error, shutdown func() error) error {
	go func() {
		<-ctx.Done()
		shutdown()
	}()
	if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// HTTP serves h on ln until ctx ends.
func HTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h}
	return Serve(ctx, func() error { return srv.Serve(ln) }, func() error { return srv.Shutdown(context.Background()) })
}
