// Command nethttp serves a small API guarded by atrhttp and prints every
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
	"encoding/json"
	"io"
	"net/http"

	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	"github.com/atrion-go/atrion/examples/internal/server"
)

func main() { server.Main(run) }

// run serves on addr until ctx ends; it sends the bound address on ready.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	a, err := server.Engine(out)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "the database is down", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(a.Snapshots())
	})
	// Around the whole mux: every request is guarded, unmatched ones as one
	// route. Registering the middleware per route instead
	// (mux.Handle("GET /users/{id}", mw(users))) saves a second mux match.
	// X-Priority must come from a trusted hop (a gateway that sets it and
	// strips it from outside traffic): a client that sets it itself is
	// trusted to call its own requests critical.
	h := atrhttp.Middleware(a, atrhttp.WithPriorityHeader("X-Priority"))(mux)

	ln, err := server.Listen(addr, out, ready)
	if err != nil {
		return err
	}
	return server.HTTP(ctx, ln, h)
}
