package atrfiber_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	atrfiber "github.com/atrion-go/atrion/adapters/fiberv3"
	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/valyala/fasthttp"
)

func suiteConfig(customReject bool) atrfiber.Config {
	cfg := atrfiber.Config{
		PriorityHeader: "X-Priority",
		DeadlineHeader: adaptertest.DeadlineHeader,
		Next:           func(c fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/skip/") },
	}
	if customReject {
		cfg.RejectHandler = func(c fiber.Ctx, _ atrion.Decision) error {
			return c.Status(fiber.StatusTooManyRequests).SendString("custom")
		}
	}
	return cfg
}

// suiteApp serves the conformance suite's routes behind mws.
func suiteApp(h *adaptertest.Handlers, mws ...any) *fiber.App {
	app := fiber.New()
	if len(mws) > 0 {
		app.Use(mws...)
	}
	hit := func(f fiber.Handler) fiber.Handler { return func(c fiber.Ctx) error { h.Hit(); return f(c) } }
	app.Get("/users/:id", hit(func(c fiber.Ctx) error { h.Saw(c.Context()); return c.SendString("user " + c.Params("id")) }))
	app.Get("/status/:code", hit(func(c fiber.Ctx) error {
		code, err := strconv.Atoi(c.Params("code"))
		if err != nil || code < 200 || code > 599 {
			code = fiber.StatusBadRequest
		}
		if code >= 400 {
			return fiber.NewError(code) // the code comes from the returned error
		}
		return c.SendStatus(code)
	}))
	app.Get("/panic", hit(func(fiber.Ctx) error { panic("handler panic") }))
	app.Get("/error", hit(func(fiber.Ctx) error { return errors.New("lost the database") }))
	app.Get("/skip/:id", hit(func(c fiber.Ctx) error { return c.SendString("skipped") }))
	app.Get("/block", hit(func(c fiber.Ctx) error { h.Block(c.Context()); return c.SendString("done") }))
	return app
}

func serve(t *testing.T, app *fiber.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// The middleware is global (app.Use), where fiber knows the route only
// after c.Next(): the suite checks that /users/1 and /users/2 share
// "GET /users/:id" and that shedding happens before the handler runs.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Server{
		Routes: adaptertest.Routes{
			Users: "GET /users/:id", Status: "GET /status/:code", Panic: "GET /panic", Error: "GET /error",
			Block: "GET /block",
		},
		Cancels: false, // fasthttp does not report a client going away
		Start: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, customReject bool) string {
			return serve(t, suiteApp(h, recover.New(), atrfiber.New(a, suiteConfig(customReject))))
		},
		Nil:  func() { atrfiber.New(nil) },
		Call: "atrfiber.New",
		Hooked: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, hook adaptertest.Hook) string {
			cfg := suiteConfig(false)
			cfg.DecisionHook, cfg.DecisionInContext = hook, true
			return serve(t, suiteApp(h, recover.New(), atrfiber.New(a, cfg)))
		},
	})
}

// Without a config, New guards with the defaults: a 5xx is a failure, and
// the priority header is not read (a bulk request is normal).
func TestNoConfig(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	app.Use(atrfiber.New(a))
	app.Get("/fail", func(fiber.Ctx) error { return fiber.ErrBadGateway })
	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/fail", nil)
		req.Header.Set("X-Priority", "bulk")
		if res, err := app.Test(req); err != nil || res.StatusCode != http.StatusBadGateway {
			t.Fatalf("GET /fail: %v %v", res, err)
		}
	}
	if s, _ := a.Snapshot("GET /fail"); s.Totals.Failures != 2 {
		t.Fatalf("totals %+v", s.Totals)
	}
}

// Registered per route, the middleware derives the same IDs.
func TestPerRoute(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	mw := atrfiber.New(a)
	app.Get("/orders/:id", mw, func(c fiber.Ctx) error { return c.SendString(c.Params("id")) })
	app.Post("/orders", mw, func(c fiber.Ctx) error { return c.SendStatus(fiber.StatusCreated) })
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/orders/1", nil),
		httptest.NewRequest(http.MethodGet, "/orders/2", nil),
		httptest.NewRequest(http.MethodHead, "/orders/3", nil), // fiber's automatic HEAD route
		httptest.NewRequest(http.MethodPost, "/orders", nil),
	} {
		if _, err := app.Test(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(a.Routes(), ","); got != "GET /orders/:id,HEAD /orders/:id,POST /orders,atrion:overflow" {
		t.Fatalf("routes %s", got)
	}
}

// Routes registered after the first requests are found too.
func TestLateRoutes(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	app.Use(atrfiber.New(a))
	ok := func(c fiber.Ctx) error { return nil }
	app.Get("/early", ok)
	app.Test(httptest.NewRequest(http.MethodGet, "/early", nil))
	app.Test(httptest.NewRequest(http.MethodGet, "/late/1", nil))
	app.Get("/late/:id", ok)
	app.Test(httptest.NewRequest(http.MethodGet, "/late/2", nil))
	if got := strings.Join(a.Routes(), ","); got != "(unmatched),GET /early,GET /late/:id,atrion:overflow" {
		t.Fatalf("routes %s", got)
	}
}

// Routes removed (fiber v3's RemoveRoute and RebuildTree) are dropped too.
func TestRemovedRoutes(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	app.Use(atrfiber.New(a))
	ok := func(c fiber.Ctx) error { return nil }
	app.Get("/gone/:id", ok)
	app.Get("/kept", ok)
	app.Test(httptest.NewRequest(http.MethodGet, "/gone/1", nil))
	app.RemoveRoute("/gone/:id", http.MethodGet, http.MethodHead)
	app.RebuildTree()
	if res, err := app.Test(httptest.NewRequest(http.MethodGet, "/gone/2", nil)); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /gone/2 after RemoveRoute: %v %v", res, err)
	}
	if s, _ := a.Snapshot(atrion.UnmatchedRoute); s.Totals.Admitted != 1 {
		t.Fatalf("unmatched: %+v; routes %q", s.Totals, a.Routes())
	}
}

func TestRouteIDOption(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	app.Use(atrfiber.New(a, atrfiber.Config{RouteID: func(c fiber.Ctx) string { return c.Get(adaptertest.RouteIDHeader) }}))
	app.Get("/x", func(c fiber.Ctx) error { return nil })
	adaptertest.CheckRouteIDOption(t, a, serve(t, app)+"/x")
}

// The admitted path adds no allocation over bare fiber with a no-op
// global middleware (fiber's own cost of app.Use).
func TestAdmittedPathAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	count := func(mw fiber.Handler) float64 {
		app := fiber.New()
		app.Use(mw)
		app.Get("/users/:id", func(c fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
		h := app.Handler()
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/users/7")
		ctx.Request.Header.SetMethod(fiber.MethodGet)
		ctx.Request.Header.Set("X-Priority", "high")
		return testing.AllocsPerRun(500, func() { h(&ctx) })
	}
	noop := count(func(c fiber.Ctx) error { return c.Next() })
	if got := count(atrfiber.New(a, atrfiber.Config{PriorityHeader: "X-Priority", DecisionHook: adaptertest.NoHook})); got != noop {
		t.Fatalf("with the middleware %v allocs, with a no-op middleware %v", got, noop)
	}
}

// Config.ClientKey: a banned key gets 429 with Retry-After on a real
// loopback server, other keys are served, and a key sending only bad
// requests is banned on that evidence.
func TestClientKeyOption(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	mw := atrfiber.New(a, atrfiber.Config{ClientKey: func(c fiber.Ctx) string { return c.Get(adaptertest.ClientKeyHeader) }})
	adaptertest.CheckClientKeyOption(t, a, clk, h, serve(t, suiteApp(h, mw)))
}

// app.Use after a route leaves that route unguarded (fiber runs handlers
// in registration order, and the route's handler answers first); routes
// registered after are guarded. Documented on New.
func TestUseAfterRoutesLeavesThemUnguarded(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	app := fiber.New()
	ok := func(c fiber.Ctx) error { return nil }
	app.Get("/early", ok)
	app.Use(atrfiber.New(a))
	app.Get("/late", ok)
	for _, p := range []string{"/early", "/late"} {
		res, err := app.Test(httptest.NewRequest(http.MethodGet, p, nil))
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", p, res, err)
		}
	}
	if s, ok := a.Snapshot("GET /early"); ok && s.Totals.Decisions != 0 {
		t.Fatalf("a route registered before app.Use was guarded: %+v", s.Totals)
	}
	if s, ok := a.Snapshot("GET /late"); !ok || s.Totals.Decisions != 1 {
		t.Fatalf("a route registered after app.Use was not guarded (tracked %v)", ok)
	}
}
