package atrecho_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	atrecho "github.com/atrion-go/atrion/adapters/echov5"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

func suiteOptions(customReject bool) []atrecho.Option {
	opts := []atrecho.Option{
		atrecho.WithPriorityHeader("X-Priority"),
		atrecho.WithDeadlineHeader(adaptertest.DeadlineHeader),
		atrecho.WithSkipper(func(c *echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/skip/") }),
	}
	if customReject {
		opts = append(opts, atrecho.WithRejectHandler(func(c *echo.Context, _ atrion.Decision) error {
			return c.String(http.StatusTooManyRequests, "custom")
		}))
	}
	return opts
}

// suiteEcho serves the conformance suite's routes behind mws.
func suiteEcho(h *adaptertest.Handlers, mws ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.Use(mws...)
	hit := func(f echo.HandlerFunc) echo.HandlerFunc { return func(c *echo.Context) error { h.Hit(); return f(c) } }
	e.GET("/users/:id", hit(func(c *echo.Context) error {
		h.Saw(c.Request().Context())
		return c.String(http.StatusOK, "user "+c.Param("id"))
	}))
	e.GET("/status/:code", hit(func(c *echo.Context) error {
		code, err := strconv.Atoi(c.Param("code"))
		if err != nil || code < 200 || code > 599 {
			code = http.StatusBadRequest
		}
		if code >= 400 {
			return echo.NewHTTPError(code, "") // the code comes from the returned error
		}
		return c.NoContent(code)
	}))
	e.GET("/panic", hit(func(*echo.Context) error { panic("handler panic") }))
	e.GET("/block", hit(func(c *echo.Context) error { h.Block(c.Request().Context()); return nil }))
	e.GET("/error", hit(func(*echo.Context) error { return errors.New("lost the database") }))
	e.GET("/skip/:id", hit(func(c *echo.Context) error { return c.String(http.StatusOK, "skipped") }))
	e.GET("/wrapped/:code", func(c *echo.Context) error {
		code, _ := strconv.Atoi(c.Param("code"))
		return fmt.Errorf("calling payments: %w", echo.NewHTTPError(code, ""))
	})
	e.GET("/sentinel", func(*echo.Context) error { return echo.ErrServiceUnavailable })
	e.GET("/committed", func(c *echo.Context) error {
		c.NoContent(http.StatusAccepted)
		return errors.New("failed after the response was sent")
	})
	return e
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
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

// Codes come from an echo.HTTPStatusCoder anywhere in the error's chain
// (an *echo.HTTPError, or a sentinel such as echo.ErrServiceUnavailable,
// which is not one); once the response is committed, the written status
// counts.
func TestErrorCodes(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a)))
	for _, p := range []string{"/wrapped/404", "/wrapped/502", "/sentinel", "/committed"} {
		get(t, base+p)
	}
	if s, _ := a.Snapshot("GET /wrapped/:code"); s.Totals.Ignored != 1 || s.Totals.Failures != 1 {
		t.Errorf("wrapped: %+v", s.Totals)
	}
	if s, _ := a.Snapshot("GET /sentinel"); s.Totals.Failures != 1 {
		t.Errorf("sentinel: %+v", s.Totals)
	}
	if s, _ := a.Snapshot("GET /committed"); s.Totals.Successes != 1 {
		t.Errorf("committed: %+v", s.Totals)
	}
}

// Any method on an existing path that echo answers 405, OPTIONS (which
// echo answers itself), and unknown paths share the unmatched route:
// methods cannot grow the route table.
func TestMethodNotAllowedIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, suiteEcho(&adaptertest.Handlers{}, atrecho.Middleware(a)))
	for _, m := range []string{"DELETE", "PURGE", "X-ANYTHING", "OPTIONS"} {
		req, _ := http.NewRequest(m, base+"/users/1", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: http.StatusNoContent, false: http.StatusMethodNotAllowed}[m == "OPTIONS"]; res.StatusCode != want {
			t.Fatalf("%s: %d, want %d", m, res.StatusCode, want)
		}
	}
	if got := a.Routes(); len(got) != 2 || got[0] != atrion.UnmatchedRoute {
		t.Fatalf("routes %q", got)
	}
	// after the route was matched (and remembered) for GET, DELETE is
	// still 405 and unmatched
	get(t, base+"/users/1")
	req, _ := http.NewRequest(http.MethodDelete, base+"/users/2", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if s, _ := a.Snapshot(atrion.UnmatchedRoute); s.Totals.Admitted != 5 {
		t.Fatalf("unmatched: %+v", s.Totals)
	}
}

// Handlers registered with e.RouteNotFound (groups register their own)
// answer requests that match no route: the unmatched route.
func TestRouteNotFoundIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a))
	e.GET("/api/users/:id", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	e.RouteNotFound("/api/*", func(c *echo.Context) error { return c.NoContent(http.StatusNotFound) })
	g := e.Group("/admin", func(next echo.HandlerFunc) echo.HandlerFunc { return next })
	g.GET("/stats", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	base := adaptertest.Serve(t, e)
	for p, want := range map[string]int{"/api/users/1": 200, "/api/nope": 404, "/api/x/y": 404, "/admin/stats": 200, "/admin/nope": 404} {
		if got := get(t, base+p); got != want {
			t.Fatalf("GET %s: %d, want %d", p, got, want)
		}
	}
	if got := strings.Join(a.Routes(), ","); got != "(unmatched),GET /admin/stats,GET /api/users/:id,atrion:overflow" {
		t.Fatalf("routes %s", got)
	}
}

// e.Any matches any method a client sends: the standard ones get their
// own route, the others share OtherMethods.
func TestAnyRoute(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a))
	e.Any("/files/*", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	base := adaptertest.Serve(t, e)
	for _, m := range []string{"GET", "PUT", "PURGE", "X-ONE", "X-TWO"} {
		req, _ := http.NewRequest(m, base+"/files/a/b", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", m, res.StatusCode)
		}
	}
	if got := strings.Join(a.Routes(), ","); got != "GET /files/*,OTHER /files/*,PUT /files/*,atrion:overflow" {
		t.Fatalf("routes %s", got)
	}
}

// With echo's AutoHandleHEAD a HEAD request runs the GET route: "HEAD
// template"; without it, echo answers 405: unmatched.
func TestHead(t *testing.T) {
	for auto, want := range map[bool]string{true: "GET /users/:id,HEAD /users/:id", false: "(unmatched),GET /users/:id"} {
		a, _ := adaptertest.Engine(t)
		e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(echo.RouterConfig{AutoHandleHEAD: auto})})
		e.Use(atrecho.Middleware(a))
		e.GET("/users/:id", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodHead} {
			e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/users/1", nil))
		}
		if got := strings.Join(a.Routes(), ","); got != want+",atrion:overflow" {
			t.Errorf("AutoHandleHEAD %v: routes %s", auto, got)
		}
	}
}

// One middleware on two Echos remembers what each matched: a template
// matched by one is still unmatched (405) on the other.
func TestTwoEchos(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	mw := atrecho.Middleware(a)
	ok := func(c *echo.Context) error { return c.NoContent(http.StatusOK) }
	e1, e2 := echo.New(), echo.New()
	e1.Use(mw)
	e2.Use(mw)
	e1.GET("/a", ok)
	e2.POST("/a", ok)
	for _, e := range []*echo.Echo{e1, e2, e1, e2} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/a", nil))
	}
	if s, _ := a.Snapshot("GET /a"); s.Totals.Admitted != 2 {
		t.Errorf("GET /a: %+v", s.Totals)
	}
	if s, _ := a.Snapshot(atrion.UnmatchedRoute); s.Totals.Admitted != 2 {
		t.Errorf("unmatched: %+v", s.Totals)
	}
}

func TestRouteIDOption(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a, atrecho.WithRouteID(func(c *echo.Context) string { return c.Request().Header.Get(adaptertest.RouteIDHeader) })))
	e.GET("/x", func(c *echo.Context) error { return nil })
	adaptertest.CheckRouteIDOption(t, a, adaptertest.Serve(t, e)+"/x")
}

// The admitted path adds no allocation over bare echo: v5 builds its
// middleware chain once, and the route's template is remembered after
// the first request.
func TestAdmittedPathAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	req := httptest.NewRequest(http.MethodGet, "/users/7", nil)
	req.Header.Set("X-Priority", "high")
	count := func(mws ...echo.MiddlewareFunc) float64 {
		e := echo.New()
		e.Use(mws...)
		e.GET("/users/:id", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })
		w := &adaptertest.Discard{H: http.Header{}}
		return testing.AllocsPerRun(500, func() { e.ServeHTTP(w, req) })
	}
	if got, bare := count(atrecho.Middleware(a, atrecho.WithPriorityHeader(""), atrecho.WithDecisionHook(adaptertest.NoHook))), count(); got != bare {
		t.Fatalf("with the middleware %v allocs, bare echo %v", got, bare)
	}
}

// Any method and path: no panic, and every route ID is a registered
// template under a standard method, OtherMethods on the e.Any route, or
// the unmatched route.
func FuzzRouteIDs(f *testing.F) {
	for _, s := range [][2]string{{"GET", "/users/1"}, {"DELETE", "/users/1"}, {"X-Y", "/files/a"}, {"GET", "/api/nope"}, {"HEAD", "//"}} {
		f.Add(s[0], s[1])
	}
	a, _ := adaptertest.Engine(f)
	e := echo.New()
	e.Use(atrecho.Middleware(a))
	ok := func(c *echo.Context) error { return c.NoContent(http.StatusOK) }
	templates := []string{"/users/:id", "/users/:id/posts/*", "/api/users/:id", "/"}
	for _, p := range templates {
		e.GET(p, ok)
	}
	e.POST("/users/:id", ok)
	e.Any("/files/*", ok)
	e.RouteNotFound("/api/*", ok)
	allowed := map[string]bool{atrion.UnmatchedRoute: true, atrion.OverflowRoute: true, "OTHER /files/*": true}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		for _, p := range append(templates, "/files/*") {
			allowed[m+" "+p] = true
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		if method == "" {
			return // net/http reads an empty method as GET
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}, RequestURI: path}
		e.ServeHTTP(httptest.NewRecorder(), req)
		for _, id := range a.Routes() {
			if !allowed[id] {
				t.Fatalf("%s %q: route ID %q", method, path, id)
			}
		}
	})
}

// A catch-all e.RouteNotFound("/*") serves every unknown path and method:
// whatever method a client invents, the requests share the unmatched route.
func TestRouteNotFoundCatchAllIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a))
	e.GET("/users/:id", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	e.RouteNotFound("/*", func(c *echo.Context) error { return c.NoContent(http.StatusNotFound) })
	base := adaptertest.Serve(t, e)
	adaptertest.InventMethods(t, base, 500)
	got := a.Routes()
	t.Logf("1,000 requests with 500 invented methods: %d routes", len(got))
	if len(got) != 2 || got[0] != atrion.UnmatchedRoute {
		t.Fatalf("routes %.300q", got)
	}
}

// The Echo's routes hold reserved slots once it serves its first request.
func TestRoutesReserved(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	e := echo.New()
	e.Use(atrecho.Middleware(a))
	for _, p := range []string{"/a", "/b/:id", "/c/*"} {
		e.GET(p, func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	}
	e.POST("/a", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	get(t, adaptertest.Serve(t, e)+"/a")
	if got := a.Stats().Reserved; got != 5 { // four routes and the unmatched route
		t.Fatalf("reserved %d routes, want 5", got)
	}
}

// WithClientKey: a banned key gets 429 with Retry-After on a real
// loopback server, other keys are served, and a key sending only bad
// requests is banned on that evidence.
func TestClientKeyOption(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	mw := atrecho.Middleware(a, atrecho.WithClientKey(func(c *echo.Context) string { return c.Request().Header.Get(adaptertest.ClientKeyHeader) }))
	adaptertest.CheckClientKeyOption(t, a, clk, h, adaptertest.Serve(t, suiteEcho(h, mw)))
}
