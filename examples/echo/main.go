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
	"io"
	"net/http"

	atrecho "github.com/atrion-go/atrion/adapters/echo"
	"github.com/atrion-go/atrion/examples/internal/server"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func main() { server.Main(run) }

// run serves on addr until ctx ends; it sends the bound address on ready.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	a, err := server.Engine(out)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	e.Use(middleware.Recover(), atrecho.Middleware(a, atrecho.WithPriorityHeader("X-Priority")))
	e.GET("/users/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")}) })
	e.GET("/fail", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusInternalServerError, "the database is down")
	})
	e.GET("/routes", func(c echo.Context) error { return c.JSON(http.StatusOK, a.Snapshots()) })

	ln, err := server.Listen(addr, out, ready)
	if err != nil {
		return err
	}
	return server.HTTP(ctx, ln, e)
}
