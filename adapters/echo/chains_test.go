package atrecho

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	"github.com/labstack/echo/v4"
)

// Each handler gets its own guarded handler, the same one every time.
func TestChainsKeepOnePerHandler(t *testing.T) {
	e, _ := adaptertest.Engine(t)
	m := &chains{g: newGuard(e, nil)}
	var served []string
	one := func(echo.Context) error { served = append(served, "one"); return nil }
	two := func(echo.Context) error { served = append(served, "two"); return nil }
	a, b := m.wrap(one), m.wrap(two)
	if handlerKey(m.wrap(one)) != handlerKey(a) || handlerKey(m.wrap(two)) != handlerKey(b) || handlerKey(a) == handlerKey(b) {
		t.Fatal("a handler's guarded handler is not kept, or two handlers share one")
	}
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	_, _, _ = a(c), b(c), m.wrap(one)(c)
	if got := strings.Join(served, " "); got != "one two one" {
		t.Fatalf("served %q, want %q", got, "one two one")
	}
}

// Behind a middleware that makes a new next on every request, every
// request is still guarded and served by its own next, and the cache
// stops at its bound.
func TestChainsBoundedForFreshNexts(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	m := &chains{g: newGuard(a, nil)}
	fresh := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(c) } // a new closure per request
	}
	e := echo.New()
	e.Use(m.wrap, fresh)
	e.GET("/n/:i", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("i")) })
	const n = maxChains + 50
	for i := range n {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/n/"+strconv.Itoa(i), nil))
		if w.Code != http.StatusOK || w.Body.String() != strconv.Itoa(i) {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body.String())
		}
	}
	if s, _ := a.Snapshot("GET /n/:i"); s.Totals.Admitted != n || s.Totals.Successes != n {
		t.Fatalf("totals %+v, want %d admitted and served", s.Totals, n)
	}
	kept := 0
	m.made.Range(func(any, any) bool { kept++; return true })
	if kept != maxChains || int(m.count.Load()) != maxChains {
		t.Fatalf("the cache holds %d handlers (counted %d), want its bound %d", kept, m.count.Load(), maxChains)
	}
}
