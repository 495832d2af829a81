package atrecho_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	atrecho "github.com/atrion-go/atrion/adapters/echov5"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v5"
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
	e.GET("/users/:id", func(c *echo.Context) error { return c.String(http.StatusOK, "user "+c.Param("id")) })

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
