package atrecho_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	atrecho "github.com/atrion-go/atrion/adapters/echo"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func suiteOptions(customReject bool) []atrecho.Option {
	opts := []atrecho.Option{
		atrecho.WithPriorityHeader("X-Priority"),
		atrecho.WithDeadlineHeader(adaptertest.DeadlineHeader),
		atrecho.WithSkipper(func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/skip/") }),
	}
	if customReject {
		opts = append(opts, atrecho.WithRejectHandler(func(c echo.Context, _ atrion.Decision) error {
			return c.String(http.StatusTooManyRequests, "custom")
		}))
	}
	return opts
}

// suiteEcho serves the conformance suite's routes behind mws.
func suiteEcho(h *adaptertest.Handlers, mws ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(mws...)
	hit := func(f echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { h.Hit(); return f(c) } }
	e.GET("/users/:id", hit(func(c echo.Context) error {
		h.Saw(c.Request().Context())
		return c.String(http.StatusOK, "user "+c.Param("id"))
	}))
	e.GET("/status/:code", hit(func(c echo.Context) error {
		code, err := strconv.Atoi(c.Param("code"))
		if err != nil || code < 200 || code > 599 {
			code = http.StatusBadRequest
		}
		if code >= 400 {
			return echo.NewHTTPError(code) // the code comes from the returned error
		}
		return c.NoContent(code)
	}))
	e.GET("/panic", hit(func(echo.Context) error { panic("handler panic") }))
	e.GET("/block", hit(func(c echo.Context) error { h.Block(c.Request().Context()); return nil }))
	e.GET("/error", hit(func(echo.Context) error { return errors.New("lost the database") }))
	e.GET("/skip/:id", hit(func(c echo.Context) error { return c.String(http.StatusOK, "skipped") }))
	e.GET("/wrapped/:code", func(c echo.Context) error {
		code, _ := strconv.Atoi(c.Param("code"))
		return fmt.Errorf("calling payments: %w", echo.NewHTTPError(code))
	})
	e.GET("/committed", func(c echo.Context) error {
		c.NoContent(http.StatusAccepted)
		return errors.New("failed after the response was sent")
	})
	return e
}

func recoverQuietly() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true})
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Server{
		Routes: adaptertest.Routes{
			Users: "GET /users/:id", Status: "GET /status/:code", Panic: "GET /panic", Block: "GET /block", Error: "GET /error",
		},
		Cancels: true,
		Start: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, customReject bool) string {
			return adaptertest.Serve(t, suiteEcho(h, recoverQuietly(), atrecho.Middleware(a, suiteOptions(customReject)...)))
		},
		Nil:  func() { atrecho.Middleware(nil) },
		Call: "atrecho.Middleware",
		Hooked: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, hook adaptertest.Hook) string {
			opts := append(suiteOptions(false), atrecho.WithDecisionHook(hook), atrecho.WithDecisionInContext())
			return adaptertest.Serve(t, suiteEcho(h, recoverQuietly(), atrecho.Middleware(a, opts...)))
		},
	})
}

// Codes come from an *echo.HTTPError anywhere in the error's chain; once
// the response is committed, the written status counts.
func TestErrorCodes(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a)))
	for _, p := range []string{"/wrapped/404", "/wrapped/502", "/committed"} {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if s, _ := a.Snapshot("GET /wrapped/:code"); s.Totals.Ignored != 1 || s.Totals.Failures != 1 {
		t.Errorf("wrapped: %+v", s.Totals)
	}
	if s, _ := a.Snapshot("GET /committed"); s.Totals.Successes != 1 {
		t.Errorf("committed: %+v", s.Totals)
	}
}

// Any method on an existing path that echo answers 405, and unknown paths,
// share the unmatched route: methods cannot grow the route table.
func TestMethodNotAllowedIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a)))
	for _, m := range []string{"DELETE", "PURGE", "X-ANYTHING"} {
		req, _ := http.NewRequest(m, base+"/users/1", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s: %d", m, res.StatusCode)
		}
	}
	if got := a.Routes(); len(got) != 2 || got[0] != atrion.UnmatchedRoute {
		t.Fatalf("routes %q", got)
	}
}

func TestRouteIDOption(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a, atrecho.WithRouteID(func(c echo.Context) string { return c.Request().Header.Get(adaptertest.RouteIDHeader) })))
	e.GET("/x", func(c echo.Context) error { return nil })
	adaptertest.CheckRouteIDOption(t, a, adaptertest.Serve(t, e)+"/x")
}

// The admitted path adds no allocation over bare echo, not even the
// closure echo v4 has a middleware make per request (a no-op middleware
// costs one).
func TestAdmittedPathAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	req := httptest.NewRequest(http.MethodGet, "/users/7", nil)
	req.Header.Set("X-Priority", "high")
	count := func(mws ...echo.MiddlewareFunc) float64 {
		e := echo.New()
		e.Use(mws...)
		e.GET("/users/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		w := &adaptertest.Discard{H: http.Header{}}
		return testing.AllocsPerRun(500, func() { e.ServeHTTP(w, req) })
	}
	noop := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	bare, withNoop := count(), count(noop)
	if withNoop != bare+1 {
		t.Fatalf("a no-op middleware %v allocs, bare echo %v: echo's own cost of a middleware changed", withNoop, bare)
	}
	if got := count(atrecho.Middleware(a, atrecho.WithPriorityHeader(""), atrecho.WithDecisionHook(adaptertest.NoHook))); got != bare {
		t.Fatalf("with the middleware %v allocs, bare echo %v (a no-op middleware %v)", got, bare, withNoop)
	}
}

// A catch-all e.RouteNotFound("/*") handler serves every unknown path and
// method: requests it serves share the unmatched route, whatever method a
// client invents, and a route registered for other methods is not matched
// by an invented one.
func TestRouteNotFoundCatchAllIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a))
	e.RouteNotFound("/*", func(c echo.Context) error { return c.NoContent(http.StatusNotFound) })
	e.Add("PROPFIND", "/dav/:file", func(c echo.Context) error { return c.NoContent(http.StatusMultiStatus) })
	base := adaptertest.Serve(t, e)
	adaptertest.InventMethods(t, base, 500)
	for _, m := range []string{"PROPFIND", http.MethodGet} {
		req, _ := http.NewRequest(m, base+"/dav/x", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	got := a.Routes()
	t.Logf("1,002 requests with 500 invented methods: %d routes", len(got))
	if want := []string{atrion.UnmatchedRoute, "PROPFIND /dav/:file", atrion.OverflowRoute}; !slices.Equal(got, want) {
		t.Fatalf("routes %.300q, want %q", got, want)
	}
	if s, _ := a.Snapshot(atrion.UnmatchedRoute); s.Totals.Admitted != 1001 {
		t.Errorf("unmatched route admitted %d, want 1001", s.Totals.Admitted)
	}
}

// Routes registered after the first request are matched once the table is
// read again (at most once a second; 20 ms in this test).
func TestRouteAddedAfterFirstRequest(t *testing.T) {
	defer atrecho.SetRereadForTest(20 * time.Millisecond)()
	a, _ := adaptertest.Engine(t)
	e := suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a))
	base := adaptertest.Serve(t, e)
	get := func(p string) {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get("/users/1")
	e.GET("/late/:id", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	time.Sleep(30 * time.Millisecond)
	get("/late/1")
	if _, ok := a.Snapshot("GET /late/:id"); !ok {
		t.Fatalf("a route added after the first request is not its own: %q", a.Routes())
	}
}

// WithClientKey: a banned key gets 429 with Retry-After on a real
// loopback server, other keys are served, and a key sending only bad
// requests is banned on that evidence.
func TestClientKeyOption(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	mw := atrecho.Middleware(a, atrecho.WithClientKey(func(c echo.Context) string { return c.Request().Header.Get(adaptertest.ClientKeyHeader) }))
	adaptertest.CheckClientKeyOption(t, a, clk, h, adaptertest.Serve(t, suiteEcho(h, mw)))
}
