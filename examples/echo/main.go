// Command echo serves a small API guarded by atrecho and prints every
// mode transition. Try:
//
//	go run . -addr 127.0.0.1:8080
//	curl -i 127.0.0.1:8080/users/1
//	for i in $(seq 200); do curl -s -o /dev/null 127.0.0.1:8080/fail; sleep 0.05; done
//	curl -i 127.0.0.1:8080/fail      # 503 with Retry-After once GET /fail opens
//	curl 127.0.0.1:8080/routes       # each route's mode and resistance
package main

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

	atrecho "github.com/atrion-go/atrion/adapters/echo"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// run serves on addr until ctx ends; it sends the bound address on ready.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	a, err := atrion.New(atrion.WithObserver(atrion.ConsoleObserver(out, false)))
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover(), atrecho.Middleware(a, atrecho.WithPriorityHeader("X-Priority")))
	e.GET("/users/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")}) })
	e.GET("/fail", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusInternalServerError, "the database is down")
	})
	e.GET("/routes", func(c echo.Context) error { return c.JSON(http.StatusOK, a.Snapshots()) })

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	go func() {
		<-ctx.Done()
		e.Shutdown(context.Background())
	}()
	e.Listener = ln
	if err := e.Start(""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
