// Package fiberroutetest is the differential test of fiberroute against a
// fiber major's own router: every fiber adapter runs it, so that the
// resolver it shares picks, for every template kind, path shape, method
// and routing option, the route that its fiber serves.
package fiberroutetest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/fiberroute"
)

// Options are the routing options of one app under test.
type Options struct{ CaseSensitive, StrictRouting bool }

// Templates are the GET templates of an app under test, in registration
// order: every kind the resolver matches itself, and some it leaves to
// fiber (constraints, several parameters in one segment, escapes).
var Templates = []string{
	"/", "/users", "/users/:id", "/users/me", "/users/:id/posts", "/users/:id/posts/:post",
	"/files/*", "/assets/+", "/opt/:a?", "/Mixed/Case", "/trail/", "/api/v1/*", "/static/v1.2/app.js",
	"/shop/:item<int>", "/flights/:from-:to", "/file/:name.:ext", "/:tenant/dashboard", "/esc/\\:colon",
}

// The routes an app under test registers besides Templates.
const (
	PostTemplate  = "/users/:id"  // for POST
	GroupPrefix   = "/g"          // a group with a middleware of its own
	GroupTemplate = "/:id"        // GET, in the group
	MountPrefix   = "/m"          // a sub-app
	MountTemplate = "/inner/:x"   // GET, in the sub-app
	mountedAs     = "/m/inner/:x" // as the app lists it once mounted
	groupedAs     = "/g/:id"
)

// Paths are the request paths sent to every app under test: they reach
// every kind of template, and some reach none.
var Paths = []string{
	"/", "//", "/users", "/users/", "/USERS", "/users/1", "/users/me", "/users/ME", "/users/1/", "/users/1/posts",
	"/users/1/posts/2", "/users/1/posts/2/3", "/users//posts", "/users/1/postsX",
	"/files", "/files/", "/files/a/b/c", "/filesx", "/assets", "/assets/", "/assets/x", "/assets/x/y",
	"/opt", "/opt/", "/opt/1", "/opt/1/2", "/mixed/case", "/Mixed/Case", "/MIXED/CASE/", "/trail", "/trail/",
	"/api/v1", "/api/v1/x", "/api/v2/x", "/static/v1.2/app.js", "/static/v1x2/app.js",
	"/shop/12", "/shop/abc", "/flights/lax-jfk", "/flights/lax", "/file/a.txt", "/file/atxt",
	"/acme/dashboard", "/acme/dashboard/x", "/esc/:colon", "/g/1", "/g", "/m/inner/7", "/m/inner",
	"/nope", "/ünï/cödé", "/a%20b", "/" + strings.Repeat("a", 100) + "/dashboard",
}

// Methods are the methods sent to every app under test.
var Methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete}

// Routes are the routes an app under test lists (without app.Use
// routes): each GET route is a HEAD route too, as fiber registers them.
func Routes() []fiberroute.Route {
	get := append(slices.Clone(Templates), groupedAs, mountedAs)
	var rs []fiberroute.Route
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		for _, p := range get {
			rs = append(rs, fiberroute.Route{Method: m, Path: p})
		}
	}
	return append(rs, fiberroute.Route{Method: http.MethodPost, Path: PostTemplate})
}

// CheckRoutes checks that an app under test lists Routes (in any order:
// the differential test checks the order), so that the resolver's own tests compile what the
// differential tests serve.
func CheckRoutes(t *testing.T, listed []fiberroute.Route) {
	t.Helper()
	sorted := func(rs []fiberroute.Route) []fiberroute.Route {
		return slices.SortedFunc(slices.Values(rs), func(a, b fiberroute.Route) int {
			return cmp.Or(cmp.Compare(a.Method, b.Method), cmp.Compare(a.Path, b.Path))
		})
	}
	if got, want := sorted(listed), sorted(Routes()); !slices.Equal(got, want) {
		t.Fatalf("the app lists %v\nthe resolver's tests compile %v", got, want)
	}
}

// Serve sends one request through an app under test and returns the
// template the resolver found for it before fiber routed it and the
// template fiber served it with ("" for none).
type Serve func(method, path string) (resolved, served string)

// Run checks one fiber major. newApp builds an app with o that registers
// Templates for GET in order, PostTemplate for POST, GroupTemplate in a
// group at GroupPrefix that has a middleware, and MountTemplate in a
// sub-app mounted at MountPrefix; each handler reports its route's
// template, and a global middleware reports what a resolver built from
// the app's routes finds, before fiber routes.
func Run(t *testing.T, newApp func(t *testing.T, o Options) Serve) {
	defer func(n int) { fiberroute.ScanMax = n }(fiberroute.ScanMax)
	for _, n := range []int{0, 1000} { // through the buckets; one by one
		fiberroute.ScanMax = n
		t.Run("ScanMax="+strconv.Itoa(n), func(t *testing.T) { run(t, newApp) })
	}
}

func run(t *testing.T, newApp func(t *testing.T, o Options) Serve) {
	served := map[string]bool{}
	for name, o := range map[string]Options{
		"default":       {},
		"caseSensitive": {CaseSensitive: true},
		"strict":        {StrictRouting: true},
		"both":          {CaseSensitive: true, StrictRouting: true},
	} {
		serve := newApp(t, o)
		for _, method := range Methods {
			for _, path := range Paths {
				got, want := serve(method, path)
				if got != want {
					t.Errorf("%s: %s %q → %q, fiber served %q", name, method, path, got, want)
				}
				served[want] = true
			}
		}
	}
	// "/users/me", registered after "/users/:id", is never served: order wins
	if served["/users/me"] {
		t.Error(`"/users/me" served: fiber's first match is "/users/:id"`)
	}
	for _, tmpl := range []string{"", "/", "/users/:id", "/files/*", "/assets/+", "/opt/:a?", "/Mixed/Case",
		"/shop/:item<int>", "/flights/:from-:to", "/file/:name.:ext", "/:tenant/dashboard", groupedAs, mountedAs} {
		if !served[tmpl] {
			t.Errorf("no path was served by %q", tmpl)
		}
	}
}
