package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/examples/internal/smoke"
	"github.com/gin-gonic/gin"
)

func TestServes(t *testing.T) {
	smoke.Run(t, "GET /users/:id", func(ctx context.Context, ready chan<- string) error {
		return run(ctx, "127.0.0.1:0", io.Discard, ready)
	})
}

// TestPriorityFromServerKnowledge: a client cannot raise its priority with
// a header; the route and a verified key decide.
func TestPriorityFromServerKnowledge(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var got atrion.Priority
	r := gin.New()
	r.Use(authenticate)
	record := func(c *gin.Context) { got = priority(c) }
	r.GET("/users/:id", record)
	r.GET("/reports/:id", record)
	for _, tc := range []struct {
		path, key string
		want      atrion.Priority
	}{
		{"/users/1", "", atrion.PriorityNormal},
		{"/reports/1", "", atrion.PriorityBulk},
		{"/users/1", "partner-key-1", atrion.PriorityHigh},
		{"/users/1", "made-up-key", atrion.PriorityNormal},
		{"/reports/1", "partner-key-1", atrion.PriorityBulk},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("X-Priority", "critical") // what any client may send
		if tc.key != "" {
			req.Header.Set("X-Api-Key", tc.key)
		}
		r.ServeHTTP(httptest.NewRecorder(), req)
		if got != tc.want {
			t.Errorf("GET %s with key %q and X-Priority: critical: %v, want %v", tc.path, tc.key, got, tc.want)
		}
	}
}
