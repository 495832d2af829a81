package main

import (
	"context"
	"io"
	"testing"

	"github.com/atrion-go/atrion/examples/internal/smoke"
)

func TestServes(t *testing.T) {
	smoke.Run(t, "GET /users/:id", func(ctx context.Context, ready chan<- string) error {
		return run(ctx, "127.0.0.1:0", io.Discard, ready)
	})
}
