package atrhttp_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
)

// suiteMux serves the conformance suite's routes.
func suiteMux(h *adaptertest.Handlers, wrap func(http.Handler) http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, f http.HandlerFunc) {
		mux.Handle(pattern, wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Hit(); f(w, r) })))
	}
	handle("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		h.Saw(r.Context())
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	handle("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 200 || code > 599 {
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
	})
	handle("GET /panic", func(http.ResponseWriter, *http.Request) { panic("handler panic") })
	handle("GET /block", func(w http.ResponseWriter, r *http.Request) { h.Block(r.Context()) })
	handle("GET /skip/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "skipped") })
	return mux
}

func suiteOptions(customReject bool) []atrhttp.Option {
	opts := []atrhttp.Option{
		atrhttp.WithPriorityHeader("X-Priority"),
		atrhttp.WithDeadlineHeader(adaptertest.DeadlineHeader),
		atrhttp.WithFilter(func(r *http.Request) bool { return !strings.HasPrefix(r.URL.Path, "/skip/") }),
	}
	if customReject {
		opts = append(opts, atrhttp.WithRejectHandler(func(w http.ResponseWriter, _ *http.Request, _ atrion.Decision) {
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, "custom")
		}))
	}
	return opts
}

func noWrap(h http.Handler) http.Handler { return h }

// The suite runs against a wrapped ServeMux: patterns found up front, and
// unmatched requests guarded too.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Server{
		Routes: adaptertest.Routes{
			Users: "GET /users/{id}", Status: "GET /status/{code}", Panic: "GET /panic", Block: "GET /block",
		},
		Cancels: true,
		Start: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, customReject bool) string {
			return adaptertest.Serve(t, atrhttp.Middleware(a, suiteOptions(customReject)...)(suiteMux(h, noWrap)))
		},
		Nil:  func() { atrhttp.Middleware(nil) },
		Call: "atrhttp.Middleware",
		Hooked: func(t *testing.T, a *atrion.Atrion, h *adaptertest.Handlers, hook adaptertest.Hook) string {
			opts := append(suiteOptions(false), atrhttp.WithDecisionHook(hook), atrhttp.WithDecisionInContext())
			return adaptertest.Serve(t, atrhttp.Middleware(a, opts...)(suiteMux(h, noWrap)))
		},
	})
}

// Wrapping each route reads r.Pattern, set by the mux; requests that match
// no route never reach the middleware.
func TestPerRouteWrapping(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	base := adaptertest.Serve(t, suiteMux(h, atrhttp.Middleware(a, suiteOptions(false)...)))
	for _, p := range []string{"/users/1", "/users/2", "/nope", "/status/500"} {
		res, err := http.Head(base + p) // HEAD matches GET patterns
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	want := []string{"HEAD /status/{code}", "HEAD /users/{id}", atrion.OverflowRoute}
	if got := a.Routes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("routes %q, want %q", got, want)
	}
	if s, _ := a.Snapshot("HEAD /status/{code}"); s.Totals.Failures != 1 {
		t.Fatalf("HEAD /status/500: %+v", s.Totals)
	}
}

func TestRouteIDOption(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	mw := atrhttp.Middleware(a, atrhttp.WithRouteID(func(r *http.Request) string { return r.Header.Get(adaptertest.RouteIDHeader) }))
	adaptertest.CheckRouteIDOption(t, a, adaptertest.Serve(t, mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
}

// WithClientKey: a banned key gets 429 with Retry-After on a real
// loopback server, other keys are served, and a key sending only bad
// requests is banned on that evidence.
func TestClientKeyOption(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	h := &adaptertest.Handlers{}
	mw := atrhttp.Middleware(a, atrhttp.WithClientKey(func(r *http.Request) string { return r.Header.Get(adaptertest.ClientKeyHeader) }))
	adaptertest.CheckClientKeyOption(t, a, clk, h, adaptertest.Serve(t, mw(suiteMux(h, noWrap))))
}

// A plain handler has no pattern: without WithRouteID every request is the
// unmatched route, never its raw path.
func TestPlainHandlerIsUnmatched(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	base := adaptertest.Serve(t, atrhttp.Middleware(a)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for _, p := range []string{"/a/1", "/b/2"} {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if s, _ := a.Snapshot(atrion.UnmatchedRoute); s.Totals.Successes != 2 || len(a.Routes()) != 2 {
		t.Fatalf("routes %q, unmatched %+v", a.Routes(), s.Totals)
	}
}

// The writer wrapper keeps the optional interfaces working.
func TestWriterInterfaces(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /flush", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /copy", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("io.ReaderFrom lost")
		}
		io.Copy(w, strings.NewReader("copied"))
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		buf.Flush()
		conn.Close()
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational, then the final status
		w.WriteHeader(http.StatusBadGateway)
	})
	base := adaptertest.Serve(t, atrhttp.Middleware(a)(mux))
	for path, want := range map[string]int{"/flush": 200, "/copy": 200, "/hijack": 204, "/info": 502} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, res.Body) // the whole body: closing early would cancel the request
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s: status %d, want %d", path, res.StatusCode, want)
		}
	}
	// a hijacked connection answers before the handler returns: wait
	for route, failures := range map[string]uint64{"GET /flush": 0, "GET /copy": 0, "GET /hijack": 0, "GET /info": 1} {
		adaptertest.WaitTotals(t, a, route, func(tt atrion.Totals) bool {
			return tt.Admitted == 1 && tt.Failures == failures && tt.Successes == 1-failures
		})
	}
}

func allocs(h http.Handler, r *http.Request) float64 {
	w := &adaptertest.Discard{H: http.Header{}}
	return testing.AllocsPerRun(500, func() {
		r.Pattern = "" // as on a fresh request; ServeMux sets it
		h.ServeHTTP(w, r)
	})
}

// The admitted path adds no allocation over the bare mux when wrapped per
// route; around the mux, the second lookup allocates what ServeMux does
// for a pattern with wildcards (nothing for a static one).
func TestAdmittedPathAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	build := func(wrap func(http.Handler) http.Handler) *http.ServeMux {
		mux := http.NewServeMux()
		mux.Handle("GET /ping", wrap(ok))
		mux.Handle("GET /users/{id}", wrap(ok))
		return mux
	}
	mw := atrhttp.Middleware(a, atrhttp.WithPriorityHeader(""), atrhttp.WithDecisionHook(adaptertest.NoHook),
		atrhttp.WithClientKey(func(r *http.Request) string { return r.Header.Get(adaptertest.ClientKeyHeader) }))
	for _, path := range []string{"/ping", "/users/7"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("X-Priority", "high")
		r.Header.Set(adaptertest.ClientKeyHeader, "tenant-7") // judged: its evidence allocates once, when first seen
		bare := allocs(build(noWrap), r)
		if got := allocs(build(mw), r); got != bare {
			t.Errorf("%s per route: %v allocs, bare mux %v", path, got, bare)
		}
		extra := 0.0
		if path != "/ping" {
			extra = 1 // ServeMux's wildcard matches, found twice
		}
		if got := allocs(mw(build(noWrap)), r); got != bare+extra {
			t.Errorf("%s around the mux: %v allocs, bare mux %v", path, got, bare)
		}
	}
}

func TestMain(m *testing.M) {
	// the suite's /panic handler panics on purpose
	log.SetOutput(io.Discard)
	m.Run()
}

// A pattern without a method matches any method a client invents; they
// share one route instead of growing the table, around the mux and per
// route alike (where the handler remembers its first request's route).
func TestInventedMethodsShareOneRoute(t *testing.T) {
	for name, perRoute := range map[string]bool{"aroundMux": false, "perRoute": true} {
		t.Run(name, func(t *testing.T) {
			a, _ := adaptertest.Engine(t)
			wrap, outer := noWrap, atrhttp.Middleware(a)
			if perRoute {
				wrap, outer = outer, noWrap
			}
			mux := http.NewServeMux()
			none := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
			mux.Handle("/files/{name}", wrap(none))
			mux.Handle("PROPFIND /dav/{name}", wrap(none))
			base := adaptertest.Serve(t, outer(mux))
			do := func(method, path string) {
				req, _ := http.NewRequest(method, base+path, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
			for i := range 50 {
				do("X"+strconv.Itoa(i), "/files/a")
				do(http.MethodGet, "/files/a")
			}
			do("PROPFIND", "/dav/x") // a method the pattern names is kept
			want := []string{"GET /files/{name}", "OTHER /files/{name}", "PROPFIND /dav/{name}", atrion.OverflowRoute}
			if got := a.Routes(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("routes %q, want %q", got, want)
			}
			for _, id := range want[:2] {
				if s, _ := a.Snapshot(id); s.Totals.Decisions != 50 {
					t.Errorf("%s: %d decisions, want 50", id, s.Totals.Decisions)
				}
			}
		})
	}
}

// Per route, methods that alternate on one pattern are looked up, not
// cached in turn: still no allocation.
func TestAlternatingMethodsAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	mux := http.NewServeMux()
	mux.Handle("/files/{name}", atrhttp.Middleware(a)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	get := httptest.NewRequest(http.MethodGet, "/files/a", nil)
	post := httptest.NewRequest(http.MethodPost, "/files/a", nil)
	bare := http.NewServeMux()
	bare.HandleFunc("/files/{name}", func(http.ResponseWriter, *http.Request) {})
	w := &adaptertest.Discard{H: http.Header{}}
	run := func(h http.Handler) float64 {
		return testing.AllocsPerRun(500, func() {
			get.Pattern, post.Pattern = "", ""
			h.ServeHTTP(w, get)
			h.ServeHTTP(w, post)
		})
	}
	if got, want := run(mux), run(bare); got != want {
		t.Fatalf("alternating methods: %v allocs, bare mux %v", got, want)
	}
}

// Patterns with a host, tabs or no method keep their path and host.
func TestPatternForms(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	mux := http.NewServeMux()
	ok := func(http.ResponseWriter, *http.Request) {}
	mux.HandleFunc("GET\t /tab/{x}", ok)
	mux.HandleFunc("example.com/host/{x}", ok)
	mux.HandleFunc("POST example.com/both", ok)
	h := atrhttp.Middleware(a)(mux)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/tab/1", nil),
		httptest.NewRequest(http.MethodGet, "http://example.com/host/1", nil),
		httptest.NewRequest(http.MethodPost, "http://example.com/both", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := []string{"GET /tab/{x}", "GET example.com/host/{x}", "POST example.com/both", atrion.OverflowRoute}
	if got := a.Routes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("routes %q, want %q", got, want)
	}
}

// The handler sees the optional interfaces of the server's writer and no
// others: an HTTP/2 writer can flush and push but not hijack, a recorder
// can only flush, a bare writer nothing.
func TestWriterClaimsOnlyWhatItHas(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	type claims struct{ flush, hijack, readFrom, push bool }
	got := make(chan claims, 1)
	mw := atrhttp.Middleware(a)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var c claims
		_, c.flush = w.(http.Flusher)
		_, c.hijack = w.(http.Hijacker)
		_, c.readFrom = w.(io.ReaderFrom)
		_, c.push = w.(http.Pusher)
		got <- c
	}))

	srv := httptest.NewUnstartedServer(mw)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", res.Proto)
	}
	if c := <-got; c != (claims{flush: true, push: true}) {
		t.Errorf("HTTP/2: the handler's writer claims %+v", c)
	}

	mw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if c := <-got; c != (claims{flush: true}) {
		t.Errorf("httptest.ResponseRecorder: the handler's writer claims %+v", c)
	}
	mw.ServeHTTP(&adaptertest.Discard{H: http.Header{}}, httptest.NewRequest(http.MethodGet, "/", nil))
	if c := <-got; c != (claims{}) {
		t.Errorf("a bare writer: the handler's writer claims %+v", c)
	}
}
