package atrfiber

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	"github.com/gofiber/fiber/v2"
)

// diffApp registers templates of every kind the resolver handles itself,
// and some it leaves to fiber.RoutePatternMatch.
func diffApp(cfg fiber.Config) *fiber.App {
	cfg.DisableStartupMessage = true
	app := fiber.New(cfg)
	tmpl := func(c *fiber.Ctx) error {
		c.Set("X-Template", c.Route().Path)
		return nil
	}
	app.Use(func(c *fiber.Ctx) error { // what the resolver says, before fiber routes
		if t := newResolver(c.App(), nil).find(c.Method(), c.Path()); t != nil {
			c.Set("X-Resolved", t.path)
		}
		return c.Next()
	})
	for _, p := range []string{
		"/", "/users", "/users/:id", "/users/me", "/users/:id/posts", "/users/:id/posts/:post",
		"/files/*", "/assets/+", "/opt/:a?", "/Mixed/Case", "/trail/", "/api/v1/*", "/static/v1.2/app.js",
		"/shop/:item<int>", "/flights/:from-:to", "/file/:name.:ext", "/:tenant/dashboard", "/esc/\\:colon",
	} {
		app.Get(p, tmpl)
	}
	app.Post("/users/:id", tmpl)
	g := app.Group("/g", func(c *fiber.Ctx) error { return c.Next() })
	g.Get("/:id", tmpl)
	sub := fiber.New()
	sub.Get("/inner/:x", tmpl)
	app.Mount("/m", sub)
	return app
}

var diffPaths = []string{
	"/", "//", "/users", "/users/", "/USERS", "/users/1", "/users/me", "/users/ME", "/users/1/", "/users/1/posts",
	"/users/1/posts/2", "/users/1/posts/2/3", "/users//posts", "/users/1/postsX",
	"/files", "/files/", "/files/a/b/c", "/filesx", "/assets", "/assets/", "/assets/x", "/assets/x/y",
	"/opt", "/opt/", "/opt/1", "/opt/1/2", "/mixed/case", "/Mixed/Case", "/MIXED/CASE/", "/trail", "/trail/",
	"/api/v1", "/api/v1/x", "/api/v2/x", "/static/v1.2/app.js", "/static/v1x2/app.js",
	"/shop/12", "/shop/abc", "/flights/lax-jfk", "/flights/lax", "/file/a.txt", "/file/atxt",
	"/acme/dashboard", "/acme/dashboard/x", "/esc/:colon", "/g/1", "/g", "/m/inner/7", "/m/inner",
	"/nope", "/ünï/cödé", "/a%20b", "/" + strings.Repeat("a", 100) + "/dashboard",
}

// The resolver picks the route fiber's own router serves, for every
// template kind, path shape, method and routing option.
func TestResolverAgreesWithFiber(t *testing.T) {
	defer func(n int) { scanMax = n }(scanMax)
	for _, scanMax = range []int{0, 1000} { // through the buckets; one by one
		t.Run("scanMax="+strconv.Itoa(scanMax), testResolverAgreesWithFiber)
	}
}

func testResolverAgreesWithFiber(t *testing.T) {
	served := map[string]bool{}
	for name, cfg := range map[string]fiber.Config{
		"default":       {},
		"caseSensitive": {CaseSensitive: true},
		"strict":        {StrictRouting: true},
		"both":          {CaseSensitive: true, StrictRouting: true},
	} {
		app := diffApp(cfg)
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
			for _, path := range diffPaths {
				res, err := app.Test(httptest.NewRequest(method, path, nil))
				if err != nil {
					t.Fatalf("%s %s %q: %v", name, method, path, err)
				}
				res.Body.Close()
				got, want := res.Header.Get("X-Resolved"), res.Header.Get("X-Template")
				if got != want {
					t.Errorf("%s: %s %q → %q, fiber served %q", name, method, path, got, want)
				}
				served[want] = true
			}
		}
	}
	// the paths reach every kind of template, and some reach none;
	// "/users/me", registered after "/users/:id", is never served: order wins
	if served["/users/me"] {
		t.Error(`"/users/me" served: fiber's first match is "/users/:id"`)
	}
	for _, tmpl := range []string{"", "/", "/users/:id", "/files/*", "/assets/+", "/opt/:a?", "/Mixed/Case",
		"/shop/:item<int>", "/flights/:from-:to", "/file/:name.:ext", "/:tenant/dashboard", "/g/:id", "/m/inner/:x"} {
		if !served[tmpl] {
			t.Errorf("no path was served by %q", tmpl)
		}
	}
}

// Plain templates are matched here; only the others go to fiber.
func TestResolverCompile(t *testing.T) {
	r := &resolver{fold: true}
	for tmpl, complex := range map[string]bool{
		"/users/:id": false, "/files/*": false, "/assets/+": false, "/opt/:a?": false, "/a/b/c": false, "/": false,
		"/shop/:item<int>": true, "/flights/:from-:to": true, "/file/:name.:ext": true, "/esc/\\:colon": true,
		"/a/*/b": true, "/x*": true, "/:a?/b": true, "/a//:b": true, "/a//b": false,
	} {
		if got := r.compile(tmpl).complex; got != complex {
			t.Errorf("compile(%q).complex = %v, want %v", tmpl, got, complex)
		}
	}
}

// Finding a plain template does not allocate.
func TestResolverAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	app := diffApp(fiber.Config{})
	app.Test(httptest.NewRequest(http.MethodGet, "/", nil)) // mounts the sub-app
	r := newResolver(app, nil)
	for _, path := range []string{"/USERS/42/posts", "/acme/dashboard", "/files/a/b", "/nope"} {
		if n := testing.AllocsPerRun(200, func() { _ = r.find(http.MethodGet, path) }); n != 0 {
			t.Errorf("find(%q): %v allocs", path, n)
		}
	}
}

// Any path: no panic, and the answer is a registered template or "".
func FuzzResolverFind(f *testing.F) {
	for _, p := range diffPaths {
		f.Add(p)
	}
	app := diffApp(fiber.Config{})
	app.Test(httptest.NewRequest(http.MethodGet, "/", nil))
	r := newResolver(app, nil)
	known := map[string]bool{"": true}
	for _, rt := range app.GetRoutes(true) {
		known[rt.Path] = true
	}
	f.Fuzz(func(t *testing.T, path string) {
		if got := r.find(http.MethodGet, path); got != nil && !known[got.path] {
			t.Fatalf("find(%q) = %q, not a registered template", path, got.path)
		}
	})
}
