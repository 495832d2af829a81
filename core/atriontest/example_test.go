package atriontest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// Quotes is the code under test: a handler that gets a quote from a
// pricing service through Atrion, and while the pricing service's route
// is open serves the last quote it got, marked stale, instead of waiting
// on a service that is down.
type Quotes struct {
	A     *atrion.Atrion
	Fetch func(ctx context.Context) (string, error) // the pricing service

	mu   sync.Mutex
	last string
}

// pricing is the pricing service's route.
const pricing = "GET pricing/quote"

// ServeHTTP answers with the pricing service's quote, or the last one.
func (q *Quotes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t, d := q.A.Admit(pricing, atrion.PriorityNormal)
	if d.Allowed {
		quote, err := q.Fetch(r.Context())
		if err == nil {
			t.Done(atrion.Success)
			q.mu.Lock()
			q.last = quote
			q.mu.Unlock()
			fmt.Fprintln(w, quote)
			return
		}
		t.Done(atrion.Failure)
	}
	q.mu.Lock()
	last := q.last
	q.mu.Unlock()
	if last == "" {
		http.Error(w, "pricing unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "stale", last)
}

// testQuotesFallBack is the test, as it reads in a _test.go file as
// func TestQuotesFallBack(t *testing.T).
func testQuotesFallBack(t testing.TB) {
	a, clk := atriontest.New(t)
	calls := 0
	q := &Quotes{A: a, Fetch: func(context.Context) (string, error) {
		calls++
		return "ACME 101.50", nil
	}}
	get := func() string {
		rec := httptest.NewRecorder()
		q.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/quote", nil))
		return fmt.Sprint(rec.Code, " ", strings.TrimSpace(rec.Body.String()))
	}

	if got := get(); got != "200 ACME 101.50" {
		t.Fatalf("healthy: %q", got)
	}

	s := atriontest.Trip(t, a, clk, pricing) // the pricing service goes down
	t.Logf("pricing is %v", s.Mode)
	before := calls
	if got := get(); got != "200 stale ACME 101.50" {
		t.Errorf("while pricing is down: %q, want the last quote, marked stale", got)
	}
	if calls != before {
		t.Errorf("the handler called the pricing service while its route was open")
	}

	s = atriontest.Heal(t, a, clk, pricing) // and comes back
	t.Logf("pricing is %v", s.Mode)
	if got := get(); got != "200 ACME 101.50" {
		t.Errorf("after pricing healed: %q", got)
	}
}

// Example tests a handler's fallback for when the route of the service it
// depends on trips. The test reads as it would in a _test.go file; the
// example hands it a stand-in for the *testing.T that go test would give
// it.
func Example() {
	t := &exampleT{}
	defer t.cleanup()
	testQuotesFallBack(t)
	// Output:
	// pricing is CIRCUIT_OPEN
	// pricing is OPERATIONAL
}

// exampleT stands in for a *testing.T: it prints what the test logs or
// reports, and runs its cleanups when the example ends.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Logf(format string, args ...any)   { fmt.Printf(format+"\n", args...) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
