package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// backendTimeout bounds the front's call to the backend.
const backendTimeout = time.Second

// newFront returns the shop's front service: three routes that each call
// the backend at base. mw, when not nil, guards every route (the protected
// front); the unprotected twin is the same service without it.
func newFront(base string, client *http.Client, mw gin.HandlerFunc) *gin.Engine {
	g := gin.New()
	g.Use(gin.Recovery())
	if mw != nil {
		g.Use(mw)
	}
	call := func(method, path string) gin.HandlerFunc {
		return func(c *gin.Context) {
			p := path
			if id := c.Param("id"); id != "" {
				p += id
			}
			c.Status(relay(c.Request.Context(), client, method, base+p))
		}
	}
	g.GET("/api/products/:id", call(http.MethodGet, "/products/"))
	g.POST("/api/checkout", call(http.MethodPost, "/checkout"))
	g.GET("/api/recommendations", call(http.MethodGet, "/recommendations"))
	return g
}

// relay calls the backend and maps its answer to the front's status:
// 200 when it served, 502 when it failed, 504 when it was too slow.
func relay(ctx context.Context, client *http.Client, method, url string) int {
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return http.StatusInternalServerError
	}
	res, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		return http.StatusBadGateway
	}
	return http.StatusOK
}

// newClient returns an HTTP client for loopback traffic that keeps enough
// idle connections not to churn through ports.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}
