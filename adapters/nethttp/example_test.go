package atrhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
)

// Wrap the whole mux: every request is guarded under its ServeMux pattern,
// and requests that match no pattern share one route.
func ExampleMiddleware() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "user", r.PathValue("id"))
	})
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	h := atrhttp.Middleware(a, atrhttp.WithPriorityHeader("X-Priority"))(mux)

	for _, path := range []string{"/users/1", "/users/2", "/nope"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code)
	}
	fmt.Println(a.Routes())
	// Output:
	// /users/1 200
	// /users/2 200
	// /nope 404
	// [(unmatched) GET /users/{id} atrion:overflow]
}

// Wrap each route instead: the mux sets r.Pattern before the middleware
// runs, so no second lookup is needed.
func ExampleMiddleware_perRoute() {
	a, _ := atrion.New()
	defer a.Close(context.Background())

	guard := atrhttp.Middleware(a)
	mux := http.NewServeMux()
	mux.Handle("POST /orders", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/orders", nil))
	fmt.Println(a.Routes())
	// Output: [POST /orders atrion:overflow]
}

// Guard calls to a dependency: once it fails enough to open its route,
// calls fail at once with a *RejectedError instead of waiting on it.
func ExampleTransport() {
	a, _ := atrion.New()
	defer a.Close(context.Background())

	client := &http.Client{Transport: atrhttp.Transport(a, http.DefaultTransport)}
	res, err := client.Get("http://payments.internal/charge")
	if errors.Is(err, atrhttp.ErrRejected) {
		var rej *atrhttp.RejectedError
		errors.As(err, &rej)
		fmt.Println("payments is shedding; retry after", rej.Decision.RetryAfter)
		return
	}
	if err == nil {
		res.Body.Close()
	}
}

// Leave operational routes unguarded: a scrape of /metrics or a health
// check is not the service's work, and must never be shed by it.
func ExampleWithFilter() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	ok := func(w http.ResponseWriter, r *http.Request) {}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", ok) // e.g. promhttp.Handler()
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /users/{id}", ok)
	h := atrhttp.Middleware(a, atrhttp.WithFilter(func(r *http.Request) bool {
		return r.URL.Path != "/metrics" && r.URL.Path != "/healthz" // guard everything else
	}))(mux)

	for _, path := range []string{"/metrics", "/healthz", "/users/1"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	fmt.Println(a.Routes())
	// Output:
	// [GET /users/{id} atrion:overflow]
}
