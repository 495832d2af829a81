package atrgin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
)

func ExampleMiddleware() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	r.Use(gin.Recovery(), atrgin.Middleware(a, atrgin.WithPriorityHeader("X-Priority")))
	r.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "user "+c.Param("id")) })

	for _, path := range []string{"/users/1", "/users/2", "/nope"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
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
func ExampleWithFilter() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(atrgin.Middleware(a, atrgin.WithFilter(func(c *gin.Context) bool {
		p := c.Request.URL.Path
		return p != "/metrics" && p != "/healthz" // guard everything else
	})))
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	r.GET("/metrics", ok) // e.g. gin.WrapH(promhttp.Handler())
	r.GET("/healthz", ok)
	r.GET("/users/:id", ok)

	for _, path := range []string{"/metrics", "/healthz", "/users/1"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	fmt.Println(a.Routes())
	// Output:
	// [GET /users/:id atrion:overflow]
}
