package atrfiber_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	atrfiber "github.com/atrion-go/atrion/adapters/fiberv3"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
)

func ExampleNew() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	app := fiber.New()
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	app.Use(recover.New(), atrfiber.New(a, atrfiber.Config{PriorityHeader: "X-Priority"}))
	app.Get("/users/:id", func(c fiber.Ctx) error { return c.SendString("user " + c.Params("id")) })

	for _, path := range []string{"/users/1", "/users/2", "/nope"} {
		res, _ := app.Test(httptest.NewRequest("GET", path, nil))
		fmt.Println(path, res.StatusCode)
	}
	fmt.Println(a.Routes())
	// Output:
	// /users/1 200
	// /users/2 200
	// /nope 404
	// [(unmatched) GET /users/:id atrion:overflow]
}

// Leave operational routes unguarded with Config.Next: a scrape of
// /metrics or a health check is not the service's work, and must never be
// shed by it.
func ExampleNew_operationalRoutes() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	app := fiber.New()
	app.Use(atrfiber.New(a, atrfiber.Config{Next: func(c fiber.Ctx) bool {
		return c.Path() == "/metrics" || c.Path() == "/healthz"
	}}))
	ok := func(c fiber.Ctx) error { return nil }
	app.Get("/metrics", ok) // e.g. adaptor.HTTPHandler(promhttp.Handler())
	app.Get("/healthz", ok)
	app.Get("/users/:id", ok)

	for _, path := range []string{"/metrics", "/healthz", "/users/1"} {
		app.Test(httptest.NewRequest("GET", path, nil))
	}
	fmt.Println(a.Routes())
	// Output:
	// [GET /users/:id atrion:overflow]
}
