package atrfiber

import (
	"net/http/httptest"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/fiberroute"
	"github.com/atrion-go/atrion/adapters/internal/fiberroute/fiberroutetest"
	"github.com/gofiber/fiber/v2"
)

// diffApp registers the differential test's routes behind a middleware
// that reports what the resolver finds, before fiber routes.
func diffApp(o fiberroutetest.Options) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, CaseSensitive: o.CaseSensitive, StrictRouting: o.StrictRouting})
	app.Use(func(c *fiber.Ctx) error {
		routes, cfg := appRoutes(c.App())
		if t := fiberroute.New(routes, cfg, nil).Find(c.Method(), c.Path()); t != nil {
			c.Set("X-Resolved", t.Path)
		}
		return c.Next()
	})
	tmpl := func(c *fiber.Ctx) error {
		c.Set("X-Template", c.Route().Path)
		return nil
	}
	for _, p := range fiberroutetest.Templates {
		app.Get(p, tmpl)
	}
	app.Post(fiberroutetest.PostTemplate, tmpl)
	app.Group(fiberroutetest.GroupPrefix, func(c *fiber.Ctx) error { return c.Next() }).Get(fiberroutetest.GroupTemplate, tmpl)
	sub := fiber.New()
	sub.Get(fiberroutetest.MountTemplate, tmpl)
	app.Mount(fiberroutetest.MountPrefix, sub)
	return app
}

// The resolver picks the route fiber's own router serves, for every
// template kind, path shape, method and routing option.
func TestResolverAgreesWithFiber(t *testing.T) {
	fiberroutetest.Run(t, func(t *testing.T, o fiberroutetest.Options) fiberroutetest.Serve {
		app := diffApp(o)
		return func(method, path string) (string, string) {
			res, err := app.Test(httptest.NewRequest(method, path, nil))
			if err != nil {
				t.Fatalf("%s %q: %v", method, path, err)
			}
			res.Body.Close()
			return res.Header.Get("X-Resolved"), res.Header.Get("X-Template")
		}
	})
}

// The differential app lists the routes that the shared resolver's own
// tests compile.
func TestAppRoutesAsListed(t *testing.T) {
	app := diffApp(fiberroutetest.Options{})
	app.Test(httptest.NewRequest("GET", "/", nil)) // mounts the sub-app
	routes, _ := appRoutes(app)
	fiberroutetest.CheckRoutes(t, routes)
}
