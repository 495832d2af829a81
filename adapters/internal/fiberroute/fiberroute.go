// Package fiberroute finds, before a fiber handler runs, the route that
// fiber's router will serve a request with: in a global app.Use middleware
// fiber knows the matched route only after c.Next(), too late to shed, in
// v2 and v3 alike (both walk one ordered stack per method). The fiber
// adapters of both majors (atrfiber for v2 and v3) share it; each gives it
// its app's routes and config, and keeps a differential test against its
// own fiber's router (fiberroutetest).
//
// Per method, in registration order, the first route that matches wins,
// as in fiber's router. Templates made of static segments, whole-segment
// parameters (":id"), an optional last parameter (":id?") and a last
// wildcard ("*" or "+") are matched here without allocating, honouring
// CaseSensitive and StrictRouting; any other template (constraints,
// several parameters in one segment, escapes) is matched with
// Config.Match (fiber.RoutePatternMatch), which allocates.
package fiberroute

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atrion-go/atrion/adapters/internal/httpx"
	atrion "github.com/atrion-go/atrion/core"
)

// Route is one registered route: fiber's Route.Method and Route.Path.
type Route struct{ Method, Path string }

// Config is the app's routing config.
type Config struct {
	CaseSensitive bool
	StrictRouting bool
	// Match reports whether a path matches one of the templates the
	// resolver leaves to fiber: fiber.RoutePatternMatch with the app's
	// config.
	Match func(path, template string) bool
}

// maxBucketKey bounds the first segments used as bucket keys, so that a
// lookup can lower-case one into a stack buffer.
const maxBucketKey = 64

// tail is what a template may end with after its whole segments.
type tail uint8

const (
	tailNone     tail = iota
	tailOptional      // ":id?": an optional last segment
	tailStar          // "*": anything, even nothing
	tailPlus          // "+": at least one character
)

// Template is one route, compiled.
type Template struct {
	Path   string         // the route's template, fiber's Route.Path
	Handle *atrion.Handle // its handle ("METHOD template"), when the resolver has an engine

	segs    []string // whole segments; "" is a parameter
	tail    tail
	root    bool   // matches "/" only
	static  string // a template without parameters: matches this path only
	complex bool   // matched with Config.Match
	first   string
	dynamic bool // its first segment is not static: it belongs in every bucket
}

// methodTable is one method's routes.
type methodTable struct {
	all     []*Template            // in registration order
	scan    bool                   // few enough to try one by one
	buckets map[string][]*Template // by static first segment, dynamic routes merged in order
	dynamic []*Template            // the dynamic routes alone, for any other first segment
}

// ScanMax is the most routes of a method that Find tries one by one rather
// than through the buckets: cheaper than folding a segment and hashing it.
// A variable so that tests can run either way.
var ScanMax = 8

// Resolver finds templates in one app's routes.
type Resolver struct {
	fold    bool // !CaseSensitive
	strict  bool
	complex func(path, template string) bool // Config.Match
	std     [httpx.NumMethods]*methodTable   // by httpx.MethodIndex
	other   map[string]*methodTable          // custom methods
}

// methodTable returns method's routes, nil when it has none.
func (r *Resolver) methodTable(method string) *methodTable {
	if i := httpx.MethodIndex(method); i >= 0 {
		return r.std[i]
	}
	return r.other[method]
}

// Cache keeps the resolver of the app a middleware serves, rebuilt when
// the app's routes change. Set its fields before the first Handle.
type Cache[App comparable] struct {
	// A is the engine whose handles the templates carry.
	A *atrion.Atrion
	// Version changes whenever the app's routes do (fiber's
	// app.HandlersCount).
	Version func(App) uint32
	// Routes lists the app's routes, without app.Use routes, in
	// registration order per method, and its routing config.
	Routes func(App) ([]Route, Config)

	cur atomic.Pointer[cached[App]]
	mu  sync.Mutex
}

type cached[App comparable] struct {
	app     App
	version uint32 // Version(app) when built: routes added later force a rebuild
	r       *Resolver
}

// Handle is the handle of the route that will serve a request to app
// (method and c.Path()), or nil when no route matches.
func (c *Cache[App]) Handle(app App, method, path string) *atrion.Handle {
	if t := c.get(app).Find(method, path); t != nil {
		return t.Handle
	}
	return nil
}

func (c *Cache[App]) get(app App) *Resolver {
	if e := c.cur.Load(); e != nil && e.app == app && e.version == c.Version(app) {
		return e.r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.Version(app)
	if e := c.cur.Load(); e != nil && e.app == app && e.version == v {
		return e.r
	}
	routes, cfg := c.Routes(app)
	r := New(routes, cfg, c.A)
	c.cur.Store(&cached[App]{app: app, version: v, r: r})
	return r
}

// New compiles routes; with an engine a (nil in tests), each gets its
// handle and a reserved slot in a (atrion.Atrion.Reserve): the app's
// routes never fall into the overflow route, however full junk made the
// engine's table.
func New(routes []Route, cfg Config, a *atrion.Atrion) *Resolver {
	r := &Resolver{fold: !cfg.CaseSensitive, strict: cfg.StrictRouting, complex: cfg.Match, other: map[string]*methodTable{}}
	byMethod := map[string][]*Template{}
	var order []string
	for _, rt := range routes {
		if _, ok := byMethod[rt.Method]; !ok {
			order = append(order, rt.Method)
		}
		t := r.compile(rt.Path)
		if a != nil {
			t.Handle = a.Handle(rt.Method + " " + rt.Path)
			// past the cap on reservations (or an over-long ID) it is an
			// ordinary route
			_ = a.Reserve(t.Handle.ID())
		}
		byMethod[rt.Method] = append(byMethod[rt.Method], t)
	}
	for _, m := range order {
		mt := newMethodTable(byMethod[m])
		if i := httpx.MethodIndex(m); i >= 0 {
			r.std[i] = mt
		} else {
			r.other[m] = mt
		}
	}
	return r
}

func newMethodTable(ts []*Template) *methodTable {
	mt := &methodTable{all: ts, scan: len(ts) <= ScanMax, buckets: map[string][]*Template{}}
	for _, t := range ts {
		if t.dynamic {
			mt.dynamic = append(mt.dynamic, t)
		} else if _, ok := mt.buckets[t.first]; !ok {
			mt.buckets[t.first] = nil
		}
	}
	for key := range mt.buckets {
		for _, t := range ts { // registration order
			if t.dynamic || t.first == key {
				mt.buckets[key] = append(mt.buckets[key], t)
			}
		}
	}
	return mt
}

// compile reads a template the way fiber registers it: a leading slash,
// lower-cased unless CaseSensitive, trailing slashes dropped unless
// StrictRouting.
func (r *Resolver) compile(path string) *Template {
	t := &Template{Path: path, dynamic: true}
	p := path
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if r.fold {
		p = toLowerASCII(p)
	}
	if !r.strict && len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	if p == "/" {
		t.root, t.dynamic = true, false
		return t
	}
	// bucket by a static first segment, complex templates too, so that
	// they are tried only for paths that can match them
	first, _, _ := strings.Cut(p[1:], "/")
	if first != "" && len(first) <= maxBucketKey && !strings.ContainsAny(first, `:*+?\<>()`) {
		t.first, t.dynamic = first, false
	}
	if !strings.ContainsAny(p, `:*+?\<>()`) {
		t.static = p
		return t
	}
	if strings.ContainsAny(p, `\<>()`) {
		t.complex = true
		return t
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case last && s == "*":
			t.tail = tailStar
		case last && s == "+":
			t.tail = tailPlus
		case last && len(s) > 2 && s[0] == ':' && s[len(s)-1] == '?' && isParamName(s[1:len(s)-1]):
			t.tail = tailOptional
		case len(s) > 1 && s[0] == ':' && isParamName(s[1:]):
			t.segs = append(t.segs, "")
		case s != "" && !strings.ContainsAny(s, ":*+?"):
			t.segs = append(t.segs, s)
		default:
			t.complex = true
			return t
		}
	}
	return t
}

// isParamName reports whether s is a plain parameter name: fiber ends
// names at delimiters ('-', '.') and marks constraints with '<', which
// this matcher leaves to fiber.
func isParamName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Find returns the first route of method that matches path (c.Path()),
// or nil when none does.
func (r *Resolver) Find(method, path string) *Template {
	mt := r.methodTable(method)
	if mt == nil {
		return nil
	}
	if path == "" {
		path = "/"
	}
	if !r.strict && len(path) > 1 {
		path = strings.TrimRight(path, "/")
	}
	list := mt.dynamic
	switch {
	case mt.scan:
		list = mt.all
	case len(mt.buckets) > 0 && path != "": // "//" trims to ""
		first := path[1:]
		if i := strings.IndexByte(first, '/'); i >= 0 {
			first = first[:i]
		}
		if b, ok := mt.bucket(first, r.fold); ok {
			list = b
		}
	}
	for _, t := range list {
		if r.match(t, path) {
			return t
		}
	}
	return nil
}

func (r *Resolver) match(t *Template, path string) bool {
	switch {
	case t.root:
		return path == "/"
	case t.static != "":
		return r.equal(path, t.static)
	case t.complex:
		return r.complex != nil && r.complex(path, t.Path)
	}
	rest := path
	for _, lit := range t.segs {
		if rest == "" || rest[0] != '/' {
			return false
		}
		rest = rest[1:]
		n := strings.IndexByte(rest, '/')
		if n < 0 {
			n = len(rest)
		}
		seg := rest[:n]
		rest = rest[n:]
		if lit == "" { // a parameter: one segment, not empty
			if seg == "" {
				return false
			}
		} else if !r.equal(seg, lit) {
			return false
		}
	}
	switch t.tail {
	case tailStar:
		return rest == "" || rest[0] == '/'
	case tailPlus:
		return len(rest) > 1 && rest[0] == '/'
	case tailOptional:
		return rest == "" || rest[0] == '/' && strings.IndexByte(rest[1:], '/') < 0
	default:
		return rest == ""
	}
}

// equal compares a path or segment with a template's (already lower-cased
// unless case-sensitive) segment; fiber folds ASCII only.
func (r *Resolver) equal(seg, lit string) bool {
	if seg == lit { // lit is lower-cased when folding: most paths are too
		return true
	}
	if !r.fold || len(seg) != len(lit) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if lowerASCII(seg[i]) != lit[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// bucket returns the routes for a path's first segment; with fold it
// lower-cases the segment in a stack buffer (a map index with a converted
// byte slice does not allocate).
func (mt *methodTable) bucket(first string, fold bool) ([]*Template, bool) {
	if !fold {
		b, ok := mt.buckets[first]
		return b, ok
	}
	if len(first) > maxBucketKey {
		return nil, false
	}
	var buf [maxBucketKey]byte
	for i := 0; i < len(first); i++ {
		buf[i] = lowerASCII(first[i])
	}
	b, ok := mt.buckets[string(buf[:len(first)])]
	return b, ok
}

// toLowerASCII lower-cases ASCII letters only, as fiber does.
func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}
