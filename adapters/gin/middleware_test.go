package atrgin_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func suiteOptions(customReject bool) []atrgin.Option {
	opts := []atrgin.Option{
		atrgin.WithPriorityHeader("X-Priority"),
		atrgin.WithDeadlineHeader(adaptertest.DeadlineHeader),
		atrgin.WithFilter(func(c *gin.Context) bool { return !strings.HasPrefix(c.Request.URL.Path, "/skip/") }),
	}
	if customReject {
		opts = append(opts, atrgin.WithRejectHandler(func(c *gin.Context, _ atrion.Decision) {
			c.String(http.StatusTooManyRequests, "custom")
		}))
	}
	return opts
}

// suiteEngine serves the conformance suite's routes behind mws.
func suiteEngine(h *adaptertest.Handlers, mws ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(mws...)
	hit := func(f gin.HandlerFunc) gin.HandlerFunc { return func(c *gin.Context) { h.Hit(); f(c) } }
	r.GET("/users/:id", hit(func(c *gin.Context) { h.Saw(c.Request.Context()); c.String(http.StatusOK, "user "+c.Param("id")) }))
	r.GET("/status/:code", hit(func(c *gin.Context) {
		code, err := strconv.Atoi(c.Param("code"))
		if err != nil || code < 200 || code > 599 {
			code = http.StatusBadRequest
		}
		c.Status(code)
	}))
	r.GET("/panic", hit(func(*gin.Context) { panic("handler panic") }))
	r.GET("/block", hit(func(c *gin.Context) { h.Block(c.Request.Context()) }))
	r.GET("/skip/:id", hit(func(c *gin.Context) { c.String(http.StatusOK, "skipped") }))
	r.GET("/private-error", hit(func(c *gin.Context) { c.Error(errors.New("lost the database")) }))
	return r
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Server{
		Routes: adaptertest.Routes{
			Users: "GET /users/:id", Status: "GET /status/:code", Panic: "GET /panic", Block: "GET /block",
		},
		Cancels: true,
		Start: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, customReject bool) string {
			recovery := gin.RecoveryWithWriter(io.Discard)
			return adaptertest.Serve(t, suiteEngine(h, recovery, atrgin.Middleware(a, suiteOptions(customReject)...)))
		},
		Nil:  func() { atrgin.Middleware(nil) },
		Call: "atrgin.Middleware",
		Hooked: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, hook adaptertest.Hook) string {
			opts := append(suiteOptions(false), atrgin.WithDecisionHook(hook), atrgin.WithDecisionInContext())
			return adaptertest.Serve(t, suiteEngine(h, gin.RecoveryWithWriter(io.Discard), atrgin.Middleware(a, opts...)))
		},
	})
}

// Placed outside gin.Recovery, the middleware sees the 500 that Recovery
// wrote; a private error behind a 200 is a failure too.
func TestOutsideRecoveryAndPrivateErrors(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, suiteEngine(&adaptertest.Handlers{}, atrgin.Middleware(a), gin.RecoveryWithWriter(io.Discard)))
	for _, p := range []string{"/panic", "/private-error"} {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for _, route := range []string{"GET /panic", "GET /private-error"} {
		if s, _ := a.Snapshot(route); s.Totals.Failures != 1 || s.Totals.Admitted != 1 {
			t.Errorf("%s: %+v", route, s.Totals)
		}
	}
}

func TestRouteIDOption(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	r := gin.New()
	r.Use(atrgin.Middleware(a, atrgin.WithRouteID(func(c *gin.Context) string { return c.GetHeader(adaptertest.RouteIDHeader) })))
	r.GET("/x", func(c *gin.Context) {})
	adaptertest.CheckRouteIDOption(t, a, adaptertest.Serve(t, r)+"/x")
}

// WithClientKey: a banned key gets 429 with Retry-After on a real
// loopback server, other keys are served, and a key sending only bad
// requests is banned on that evidence.
func TestClientKeyOption(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	r := suiteEngine(h, atrgin.Middleware(a, atrgin.WithClientKey(func(c *gin.Context) string { return c.GetHeader(adaptertest.ClientKeyHeader) })))
	adaptertest.CheckClientKeyOption(t, a, clk, h, adaptertest.Serve(t, r))
}

// The admitted path adds no allocation over bare gin.
func TestAdmittedPathAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	build := func(mws ...gin.HandlerFunc) *gin.Engine {
		r := gin.New()
		r.Use(mws...)
		r.GET("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
		return r
	}
	req := httptest.NewRequest(http.MethodGet, "/users/7", nil)
	req.Header.Set("X-Priority", "high")
	count := func(h http.Handler) float64 {
		w := &adaptertest.Discard{H: http.Header{}}
		return testing.AllocsPerRun(500, func() { h.ServeHTTP(w, req) })
	}
	bare := count(build())
	if got := count(build(atrgin.Middleware(a, atrgin.WithPriorityHeader(""), atrgin.WithDecisionHook(adaptertest.NoHook)))); got != bare {
		t.Fatalf("with the middleware %v allocs, bare gin %v", got, bare)
	}
	// the decision in the context costs what its doc says: the context and the request's copy
	if got := count(build(atrgin.Middleware(a, atrgin.WithDecisionInContext()))); got != bare+2 {
		t.Fatalf("with the decision in the context %v allocs, bare gin %v", got, bare)
	}
}

// r.Use after a route leaves that route unguarded (gin gives middleware
// only to routes registered after it); routes registered after are
// guarded. Documented on Middleware: the middleware cannot see the engine.
func TestUseAfterRoutesLeavesThemUnguarded(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	r := gin.New()
	r.GET("/early", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.Use(atrgin.Middleware(a))
	r.GET("/late", func(c *gin.Context) { c.Status(http.StatusOK) })
	for _, p := range []string{"/early", "/late"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, w.Code)
		}
	}
	if s, ok := a.Snapshot("GET /early"); ok && s.Totals.Decisions != 0 {
		t.Fatalf("a route registered before r.Use was guarded: %+v", s.Totals)
	}
	if s, ok := a.Snapshot("GET /late"); !ok || s.Totals.Decisions != 1 {
		t.Fatalf("a route registered after r.Use was not guarded (tracked %v)", ok)
	}
}
