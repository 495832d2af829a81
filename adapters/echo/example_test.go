package atrecho_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	atrecho "github.com/atrion-go/atrion/adapters/echo"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v4"
)

func ExampleMiddleware() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	e := echo.New()
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	e.Use(atrecho.Middleware(a, atrecho.WithPriorityHeader("X-Priority")))
	e.GET("/users/:id", func(c echo.Context) error { return c.String(http.StatusOK, "user "+c.Param("id")) })

	for _, path := range []string{"/users/1", "/users/2", "/nope"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code)
	}
	fmt.Println(a.Routes())
	// Output:
	// /users/1 200
	// /users/2 200
	// /nope 404
	// [(unmatched) GET /users/:id atrion:overflow]
}

// Leave operational routes unguarded: a scrape of /metrics or a health
// check is not the service's work, and must never be shed by it.
func ExampleWithSkipper() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	e := echo.New()
	e.Use(atrecho.Middleware(a, atrecho.WithSkipper(func(c echo.Context) bool {
		p := c.Request().URL.Path
		return p == "/metrics" || p == "/healthz"
	})))
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	e.GET("/metrics", ok) // e.g. echo.WrapHandler(promhttp.Handler())
	e.GET("/healthz", ok)
	e.GET("/users/:id", ok)

	for _, path := range []string{"/metrics", "/healthz", "/users/1"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	fmt.Println(a.Routes())
	// Output:
	// [GET /users/:id atrion:overflow]
}
