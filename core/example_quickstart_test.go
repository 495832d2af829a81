package atrion_test

import (
	"context"
	"errors"
	"fmt"

	atrion "github.com/atrion-go/atrion/core"
)

// The package documentation's opening, run: admit a request on its route,
// serve it, settle its ticket with its outcome.
func Example_quickstart() {
	if err := handle("GET /users/:id", func() error { return nil }); err != nil {
		fmt.Println(err)
	}
	if err := handle("GET /users/:id", func() error { return errors.New("the database is down") }); err != nil {
		fmt.Println(err)
	}
	// Output:
	// GET /users/:id served
	// GET /users/:id failed: the database is down
}

// handle is what a handler (or an adapter) does with an engine.
func handle(route string, serve func() error) error {
	a, err := atrion.New() // zero configuration: limits and thresholds are learned per route
	if err != nil {
		return err // only a bad option fails, and the error names it
	}
	defer a.Close(context.Background())

	t, d := a.Admit(route, atrion.PriorityNormal) // a route template, never a raw path
	if !d.Allowed {
		return reject(d) // e.g. 503 with Retry-After: d.RetryAfter; d.Reason says why
	}
	class := atrion.Success
	err = serve()
	if err != nil {
		class = atrion.Failure // or Ignored (the client's fault), Canceled (the client left)
	}
	t.Done(class)

	if err != nil {
		return fmt.Errorf("%s failed: %w", route, err)
	}
	fmt.Println(route, "served")
	return nil
}

// reject is where a service answers a rejected request.
func reject(d atrion.Decision) error {
	return fmt.Errorf("rejected (%s), retry after %v", d.Reason, d.RetryAfter)
}
