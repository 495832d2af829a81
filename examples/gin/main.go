// Command gin serves a small API guarded by atrgin and prints every
// mode transition. Request priorities come from the route and the
// authenticated caller, never from a header the client sets. Try:
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
	atrion "github.com/atrion-go/atrion/core"
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
	// priorities come from what the server knows: no client chooses its own
	r.Use(gin.Recovery(), authenticate, atrgin.Middleware(a, atrgin.WithPriority(priority)))
	r.GET("/users/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	r.GET("/reports/:id", func(c *gin.Context) { c.String(http.StatusOK, "report "+c.Param("id")) })
	r.GET("/fail", func(c *gin.Context) { c.String(http.StatusInternalServerError, "the database is down") })
	r.GET("/routes", func(c *gin.Context) { c.JSON(http.StatusOK, a.Snapshots()) })

	ln, err := server.Listen(addr, out, ready)
	if err != nil {
		return err
	}
	return server.HTTP(ctx, ln, r)
}

// apiKeys are the API keys this example accepts, and their callers'
// tier. A real service verifies a signed token or a client certificate.
var apiKeys = map[string]string{"partner-key-1": "partner"}

// authenticate sets the caller's tier from a key it knows; any other
// caller has none.
func authenticate(c *gin.Context) {
	if tier, ok := apiKeys[c.GetHeader("X-Api-Key")]; ok {
		c.Set("tier", tier)
	}
	c.Next()
}

// priority ranks a request from what the server itself knows, its route
// and the caller it authenticated, never from a header the client sets:
// with atrgin.WithPriorityHeader any client could call its own requests
// critical, which only an open circuit sheds (use that only behind a
// trusted hop that sets the header and strips it from outside traffic).
// Report exports are bulk work, shed first under load; authenticated
// partners' calls are high priority; everything else is normal.
func priority(c *gin.Context) atrion.Priority {
	switch {
	case c.FullPath() == "/reports/:id":
		return atrion.PriorityBulk
	case c.GetString("tier") == "partner":
		return atrion.PriorityHigh
	}
	return atrion.PriorityNormal
}
