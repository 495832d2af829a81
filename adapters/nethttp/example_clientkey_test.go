package atrhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
)

// Name each request's client with WithClientKey (here the tenant a
// gateway has authenticated): a banned key is answered 429 at once, and
// each request's outcome, 401s included, is its key's evidence. With a
// provider that shares bans (atrredis), a ban on one node holds on all.
func ExampleWithClientKey() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "report") })
	h := atrhttp.Middleware(a, atrhttp.WithClientKey(func(r *http.Request) string { return r.Header.Get("X-Tenant") }))(mux)

	_ = a.Ban("tenant-666", time.Hour) // an operator's ban; evidence bans the same way
	for _, tenant := range []string{"tenant-1", "tenant-666"} {
		r := httptest.NewRequest(http.MethodGet, "/reports", nil)
		r.Header.Set("X-Tenant", tenant)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(tenant, w.Code, w.Header().Get("Retry-After") != "")
	}
	// Output:
	// tenant-1 200 false
	// tenant-666 429 true
}
