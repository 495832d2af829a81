// Command fiberv3 serves a small API on fiber v3, guarded by atrfiber, and
// prints every mode transition. Try:
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

	atrfiber "github.com/atrion-go/atrion/adapters/fiberv3"
	"github.com/atrion-go/atrion/examples/internal/server"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
)

func main() { server.Main(run) }

// run serves on addr until ctx ends; it sends the bound address on ready.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	a, err := server.Engine(out)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	app := fiber.New()
	// global: the middleware resolves each request's route template before
	// the handler runs
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	app.Use(recover.New(), atrfiber.New(a, atrfiber.Config{PriorityHeader: "X-Priority"}))
	app.Get("/users/:id", func(c fiber.Ctx) error { return c.JSON(fiber.Map{"id": c.Params("id")}) })
	app.Get("/fail", func(fiber.Ctx) error {
		return fiber.NewError(fiber.StatusInternalServerError, "the database is down")
	})
	app.Get("/routes", func(c fiber.Ctx) error { return c.JSON(a.Snapshots()) })

	ln, err := server.Listen(addr, out, ready)
	if err != nil {
		return err
	}
	listen := func() error { return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }
	return server.Serve(ctx, listen, app.Shutdown)
}
