// Command gin serves a small API guarded by atrgin and prints every
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

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	"github.com/atrion-go/atrion/examples/internal/server"
	"github.com/gin-gonic/gin"
)

func main() { server.Main(run) }

// run serves on addr until ctx ends; it sends the bound address on ready.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	a, err := server.Engine(out)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), atrgin.Middleware(a, atrgin.WithPriorityHeader("X-Priority")))
	r.GET("/users/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	r.GET("/fail", func(c *gin.Context) { c.String(http.StatusInternalServerError, "the database is down") })
	r.GET("/routes", func(c *gin.Context) { c.JSON(http.StatusOK, a.Snapshots()) })

	ln, err := server.Listen(addr, out, ready)
	if err != nil {
		return err
	}
	return server.HTTP(ctx, ln, r)
}
