package httpadapters

import (
	"net/http"
	"net/http/httptest"
	"testing"

	atrecho "github.com/atrion-go/atrion/adapters/echo"
	atrechov5 "github.com/atrion-go/atrion/adapters/echov5"
	atrfiber "github.com/atrion-go/atrion/adapters/fiber"
	atrfiberv3 "github.com/atrion-go/atrion/adapters/fiberv3"
	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	"github.com/valyala/fasthttp"
)

// engine is set up as in the hot-path suite: out of bootstrap, with the
// adapters' route IDs busy in a closed tick (steady state under load).
func engine(b *testing.B) *atrion.Atrion {
	return rig.Engine(b, []string{"GET /users/:id", "GET /users/{id}"})
}

// discard is a ResponseWriter that each goroutine reuses.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// serveParallel serves GET path through h from every goroutine.
func serveParallel(b *testing.B, h http.Handler, path string) {
	b.ReportAllocs()
	b.ResetTimer() // not the engine's setup
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		w := &discard{h: http.Header{}}
		for pb.Next() {
			r.Pattern = "" // as on a fresh request; ServeMux sets it
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkNetHTTP(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := func(wrap func(http.Handler) http.Handler) *http.ServeMux {
		m := http.NewServeMux()
		m.Handle("GET /users/{id}", wrap(ok))
		return m
	}
	same := func(h http.Handler) http.Handler { return h }
	noop := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) })
	}
	b.Run("bare", func(b *testing.B) { serveParallel(b, mux(same), "/users/7") })
	b.Run("noop-per-route", func(b *testing.B) { serveParallel(b, mux(noop), "/users/7") })
	b.Run("atrhttp-per-route", func(b *testing.B) { serveParallel(b, mux(atrhttp.Middleware(engine(b))), "/users/7") })
	b.Run("atrhttp-around-mux", func(b *testing.B) { serveParallel(b, atrhttp.Middleware(engine(b))(mux(same)), "/users/7") })
}

func BenchmarkGin(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	build := func(mws ...gin.HandlerFunc) *gin.Engine {
		r := gin.New()
		r.Use(mws...)
		r.GET("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
		return r
	}
	noop := func(c *gin.Context) { c.Next() }
	b.Run("bare", func(b *testing.B) { serveParallel(b, build(), "/users/7") })
	b.Run("noop-middleware", func(b *testing.B) { serveParallel(b, build(noop), "/users/7") })
	b.Run("atrgin", func(b *testing.B) { serveParallel(b, build(atrgin.Middleware(engine(b))), "/users/7") })
}

func BenchmarkEcho(b *testing.B) {
	build := func(mws ...echo.MiddlewareFunc) *echo.Echo {
		e := echo.New()
		e.Use(mws...)
		e.GET("/users/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		return e
	}
	noop := func(next echo.HandlerFunc) echo.HandlerFunc { return func(c echo.Context) error { return next(c) } }
	b.Run("bare", func(b *testing.B) { serveParallel(b, build(), "/users/7") })
	b.Run("noop-middleware", func(b *testing.B) { serveParallel(b, build(noop), "/users/7") })
	b.Run("atrecho", func(b *testing.B) { serveParallel(b, build(atrecho.Middleware(engine(b))), "/users/7") })
}

func BenchmarkEchoV5(b *testing.B) {
	build := func(mws ...echov5.MiddlewareFunc) *echov5.Echo {
		e := echov5.New()
		e.Use(mws...)
		e.GET("/users/:id", func(c *echov5.Context) error { return c.NoContent(http.StatusNoContent) })
		return e
	}
	noop := func(next echov5.HandlerFunc) echov5.HandlerFunc {
		return func(c *echov5.Context) error { return next(c) }
	}
	b.Run("bare", func(b *testing.B) { serveParallel(b, build(), "/users/7") })
	b.Run("noop-middleware", func(b *testing.B) { serveParallel(b, build(noop), "/users/7") })
	b.Run("atrecho", func(b *testing.B) { serveParallel(b, build(atrechov5.Middleware(engine(b))), "/users/7") })
}

// serveFasthttp serves GET /users/7 through a fiber app's handler from
// every goroutine.
func serveFasthttp(b *testing.B, h fasthttp.RequestHandler) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/users/7")
		ctx.Request.Header.SetMethod(http.MethodGet)
		for pb.Next() {
			h(&ctx)
		}
	})
}

func BenchmarkFiber(b *testing.B) {
	build := func(mws ...any) fasthttp.RequestHandler {
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		if len(mws) > 0 {
			app.Use(mws...)
		}
		app.Get("/users/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
		return app.Handler()
	}
	noop := func(c *fiber.Ctx) error { return c.Next() }
	b.Run("bare", func(b *testing.B) { serveFasthttp(b, build()) })
	b.Run("noop-use", func(b *testing.B) { serveFasthttp(b, build(noop)) })
	b.Run("atrfiber-use", func(b *testing.B) { serveFasthttp(b, build(atrfiber.New(engine(b)))) })
}

func BenchmarkFiberV3(b *testing.B) {
	build := func(mws ...any) fasthttp.RequestHandler {
		app := fiberv3.New()
		if len(mws) > 0 {
			app.Use(mws...)
		}
		app.Get("/users/:id", func(c fiberv3.Ctx) error { return c.SendStatus(fiberv3.StatusNoContent) })
		return app.Handler()
	}
	noop := func(c fiberv3.Ctx) error { return c.Next() }
	b.Run("bare", func(b *testing.B) { serveFasthttp(b, build()) })
	b.Run("noop-use", func(b *testing.B) { serveFasthttp(b, build(noop)) })
	b.Run("atrfiber-use", func(b *testing.B) { serveFasthttp(b, build(atrfiberv3.New(engine(b)))) })
}

// BenchmarkAdmitDone is the engine's own cost, Admit and Done on one
// route, measured beside the adapters: most of what each adapter adds.
func BenchmarkAdmitDone(b *testing.B) {
	a := engine(b)
	b.ReportAllocs()
	b.ResetTimer() // not the engine's setup
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rig.AdmitDone(a, "GET /users/:id")
		}
	})
}
