// Package adaptertest is the conformance suite that every HTTP adapter of
// Atrion (atrhttp, atrgin, atrecho for echo v4 and v5, atrfiber for fiber
// v2 and v3) runs against a real server on loopback, so that they all
// derive route IDs, classify outcomes, shed, reject and heal alike.
package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// Tick is the engine's tick in the suite.
const Tick = 100 * time.Millisecond

// Routes are the route IDs the adapter must derive for the suite's routes,
// in the framework's template syntax (e.g. "GET /users/:id").
type Routes struct {
	Users  string // GET /users/<id>
	Status string // GET /status/<code>
	Panic  string // GET /panic
	Block  string // GET /block
	Error  string // GET /error; "" when handlers cannot return an error
}

// Server is one adapter under test.
//
// Start serves these routes on 127.0.0.1:0 through the adapter on engine a
// and returns the base URL ("http://127.0.0.1:port"); the server stops when
// t ends. Every handler first calls h.Hit().
//
//   - GET /users/<id>: h.Saw(the request's context), then 200.
//   - GET /status/<code>: responds with that status, the framework's way
//     (echo and fiber: codes ≥ 400 as a returned error).
//   - GET /panic: panics; the framework's own recovery, if it needs one,
//     sits outside the adapter.
//   - GET /block: h.Block(the request's context), then 200.
//   - GET /error: returns a plain error (echo, fiber).
//   - GET /skip/<id>: 200.
//
// The adapter is configured with priorities from the X-Priority header,
// timeouts from the DeadlineHeader header (WithDeadlineHeader), a filter
// that skips paths starting with /skip/, and, when customReject,
// a reject handler that responds 429 with the body "custom".
type Server struct {
	Routes Routes
	// Cancels says that the framework cancels a request's context when the
	// client goes away (fasthttp does not).
	Cancels bool
	Start   func(t *testing.T, a *atrion.Atrion, h *Handlers, customReject bool) string
	// Hooked starts the same server as Start (with the default reject
	// handler) with the adapter's decision hook set to hook and its option
	// that puts each decision in the request's context on.
	Hooked func(t *testing.T, a *atrion.Atrion, h *Handlers, hook Hook) string
	// Nil builds the adapter with a nil engine; Call names the
	// constructor (e.g. "atrgin.Middleware"), which must panic at once,
	// naming itself (NilEngine).
	Nil  func()
	Call string
}

// Hook is an adapter's decision hook.
type Hook = func(ctx context.Context, route string, d atrion.Decision)

// Handlers is what the suite's handlers report.
type Handlers struct {
	hits    atomic.Int64
	started chan struct{}
	release chan struct{} // closed to end every Block
	quick   atomic.Bool   // Block returns at once
	saw     atomic.Pointer[context.Context]
}

// Saw records the context a /users/<id> handler was given.
func (h *Handlers) Saw(ctx context.Context) { h.saw.Store(&ctx) }

// Hit counts one handler run.
func (h *Handlers) Hit() { h.hits.Add(1) }

// Block signals that /block started, then waits for ctx to end (the client
// going away) or the suite to release it, at most 5 s.
func (h *Handlers) Block(ctx context.Context) {
	if h.quick.Load() {
		return
	}
	select {
	case h.started <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
	case <-h.release:
	case <-time.After(5 * time.Second):
	}
}

// Engine returns an engine on a manual clock that decides on the static
// points (atriontest.Static) with a scar factor of 20 and a decay rate of 2, so that a
// route trips within about ten failing ticks and heals within seconds of
// engine time. It is closed when tb ends.
func Engine(tb testing.TB) (*atrion.Atrion, *atrion.ManualClock) {
	tb.Helper()
	return atriontest.New(tb, atriontest.Static(atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap, ScarFactor: 20, DecayRate: 2}))...)
}

// Serve serves h on a loopback test server and returns its base URL
// ("http://127.0.0.1:port"); the server stops when tb ends. Its error log
// is discarded: the suite's handlers panic on purpose.
func Serve(tb testing.TB, h http.Handler) string {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv.URL
}

// rig is one engine and one server under test.
type rig struct {
	t    *testing.T
	a    *atrion.Atrion
	clk  *atrion.ManualClock
	h    *Handlers
	base string
	c    *http.Client
}

func newRig(t *testing.T, s Server, customReject bool) *rig {
	return startRig(t, func(a *atrion.Atrion, h *Handlers) string { return s.Start(t, a, h, customReject) })
}

func startRig(t *testing.T, start func(*atrion.Atrion, *Handlers) string) *rig {
	a, clk := Engine(t)
	h := &Handlers{started: make(chan struct{}, 1), release: make(chan struct{})}
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	base := start(a, h)
	t.Cleanup(func() { close(h.release) }) // before the server stops: cleanups run last first
	return &rig{t: t, a: a, clk: clk, h: h, base: base, c: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

type response struct {
	status int
	header http.Header
	body   string
	err    error
}

func (r *rig) do(ctx context.Context, method, path, priority string) response {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if priority != "" {
		req.Header.Set("X-Priority", priority)
	}
	res, err := r.c.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return response{status: res.StatusCode, header: res.Header, body: string(b), err: err}
}

func (r *rig) get(path, priority string) response {
	r.t.Helper()
	res := r.do(context.Background(), http.MethodGet, path, priority)
	if res.err != nil {
		r.t.Fatalf("GET %s: %v", path, res.err)
	}
	return res
}

func (r *rig) expect(path, priority string, status int) response {
	r.t.Helper()
	res := r.get(path, priority)
	if res.status != status {
		r.t.Fatalf("GET %s (priority %q): status %d, want %d; body %q", path, priority, res.status, status, res.body)
	}
	return res
}

func (r *rig) snapshot(route string) atrion.RouteSnapshot {
	r.t.Helper()
	return Snapshot(r.t, r.a, route)
}

// Snapshot returns route's state, failing the test when a does not track
// it.
func Snapshot(tb testing.TB, a *atrion.Atrion, route string) atrion.RouteSnapshot {
	tb.Helper()
	s, ok := a.Snapshot(route)
	if !ok {
		tb.Fatalf("route %q is not tracked; routes: %.200q", route, a.Routes())
	}
	return s
}

// Totals returns route's counters, failing the test when a does not track
// it.
func Totals(tb testing.TB, a *atrion.Atrion, route string) atrion.Totals {
	tb.Helper()
	return Snapshot(tb, a, route).Totals
}

func (r *rig) totals(route string, ok func(atrion.Totals) bool) atrion.Totals {
	r.t.Helper()
	return WaitTotals(r.t, r.a, route, ok)
}

// WaitTotals waits (at most 2 s) until route's totals satisfy ok and
// returns them: an adapter records an outcome when its handler returns,
// which a client may see a moment before.
func WaitTotals(t testing.TB, a *atrion.Atrion, route string, ok func(atrion.Totals) bool) atrion.Totals {
	t.Helper()
	var s atrion.RouteSnapshot
	tracked := false
	if !poll(2*time.Second, func() bool { s, tracked = a.Snapshot(route); return tracked && ok(s.Totals) }) {
		t.Fatalf("route %q: totals %+v never met the expectation (tracked %v)", route, s.Totals, tracked)
	}
	return s.Totals
}

// WaitFor polls cond every millisecond until it holds, failing the test
// after 5 s: for what a server records after its client has already seen
// the call end.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !poll(5*time.Second, cond) {
		tb.Fatalf("timed out waiting for %s", what)
	}
}

// poll reports whether cond held within limit.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// trip fails route's /status/500 once per tick (critical, so graded
// shedding cannot skip it) until the circuit opens.
func (r *rig) trip(route string) {
	r.t.Helper()
	atriontest.Until(r.t, r.a, r.clk, route, atrion.ModeCircuitOpen, 100, func() { r.get("/status/500", "critical") })
}

// Run runs the suite against s.
func Run(t *testing.T, s Server) {
	t.Run("RouteIDsFromTemplates", func(t *testing.T) { testRouteIDs(t, s) })
	t.Run("OutcomeClasses", func(t *testing.T) { testOutcomes(t, s) })
	t.Run("RejectionShape", func(t *testing.T) { testRejection(t, s) })
	t.Run("CustomRejectHandler", func(t *testing.T) { testCustomReject(t, s) })
	t.Run("DeadlineRejection", func(t *testing.T) { testDeadline(t, s) })
	t.Run("Priorities", func(t *testing.T) { testPriorities(t, s) })
	t.Run("Skipping", func(t *testing.T) { testSkipping(t, s) })
	t.Run("TrippedRouteHeals", func(t *testing.T) { testHealing(t, s) })
	t.Run("DecisionHook", func(t *testing.T) { testDecisionHook(t, s) })
	t.Run("InventedMethodsShareRoutes", func(t *testing.T) { testInventedMethods(t, s) })
	t.Run("OverflowNeverBlocksRouterRoutes", func(t *testing.T) { testOverflowPoisoning(t, s) })
	t.Run("NilEnginePanicsByName", func(t *testing.T) {
		if s.Nil == nil || s.Call == "" {
			t.Fatal("Server.Nil and Server.Call are required: an adapter built with a nil engine must say so")
		}
		NilEngine(t, s.Call, s.Nil)
	})
}

// NilEngine checks that build, which builds an adapter with a nil engine,
// panics at once with call + " called with a nil *atrion.Atrion", not
// later with a nil dereference on a request.
func NilEngine(t *testing.T, call string, build func()) {
	t.Helper()
	want := call + " called with a nil *atrion.Atrion"
	defer func() {
		t.Helper()
		if p := recover(); fmt.Sprint(p) != want {
			t.Fatalf("built with a nil engine, %s panicked with %v, want %q", call, p, want)
		}
	}()
	build()
}

// testInventedMethods: methods a client invents, on a route and on unknown
// paths, never grow the route table: they share the unmatched route (or,
// where a route serves any method, its OTHER route).
func testInventedMethods(t *testing.T, s Server) {
	r := newRig(t, s, false)
	InventMethods(t, r.base, 250)
	if got := r.a.Routes(); len(got) > 3 {
		t.Fatalf("500 requests with 250 invented methods made %d routes: %.200q", len(got), got)
	}
}

// InventMethods sends n requests with methods no standard names (INVENTED000,
// INVENTED001, ...) to base+"/users/1" and n to base+"/junk/<i>".
func InventMethods(t testing.TB, base string, n int) {
	t.Helper()
	for i := range n {
		m := fmt.Sprintf("INVENTED%03d", i)
		for _, p := range []string{"/users/1", fmt.Sprintf("/junk/%d", i)} {
			req, err := http.NewRequest(m, base+p, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			res.Body.Close()
		}
	}
}

// testOverflowPoisoning: failing junk from elsewhere in the process
// (another adapter on the engine, a client, a bug) fills the engine's
// table and opens the overflow route's circuit; a route of the router
// first requested afterwards still gets a slot of its own and is served.
func testOverflowPoisoning(t *testing.T, s Server) {
	const maxRoutes = 20
	a, clk := atriontest.New(t, atriontest.Static(atrion.WithMaxRoutes(maxRoutes))...)
	h := &Handlers{started: make(chan struct{}, 1), release: make(chan struct{})}
	base := s.Start(t, a, h, false)
	t.Cleanup(func() { close(h.release) })
	PoisonOverflow(t, a, clk, 2*maxRoutes)
	served := 0
	for range 50 {
		res, err := http.Get(base + "/users/1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			served++
		}
	}
	_, own := a.Snapshot(s.Routes.Users)
	t.Logf("after the overflow route opened: %d of 50 requests to a router route served (own route: %v); %+v", served, own, a.Stats())
	if served != 50 || !own {
		t.Fatalf("a router route first seen after the table filled: %d of 50 served, own route %v", served, own)
	}
}

// PoisonOverflow sends failing calls on n distinct junk route IDs straight
// to a, tick after tick, until the overflow route's circuit is open.
func PoisonOverflow(t testing.TB, a *atrion.Atrion, clk *atrion.ManualClock, n int) {
	t.Helper()
	junk := func() {
		for i := range n {
			atriontest.Send(a, "junk-"+strconv.Itoa(i), 1, atrion.Failure)
		}
	}
	junk() // a first tick fills the table
	clk.Advance(Tick)
	atriontest.Until(t, a, clk, atrion.OverflowRoute, atrion.ModeCircuitOpen, 49, junk)
}

func testRouteIDs(t *testing.T, s Server) {
	r := newRig(t, s, false)
	for _, p := range []string{"/users/1", "/users/2", "/users/abc"} {
		r.expect(p, "", http.StatusOK)
	}
	for _, p := range []string{"/nope", "/nope/deeper/still", "/users"} {
		r.get(p, "")
	}
	if res := r.do(context.Background(), http.MethodDelete, "/users/1", ""); res.err != nil {
		t.Fatal(res.err)
	}
	r.totals(s.Routes.Users, func(tt atrion.Totals) bool { return tt.Admitted == 3 })
	r.totals(atrion.UnmatchedRoute, func(tt atrion.Totals) bool { return tt.Admitted == 4 })
	for _, id := range r.a.Routes() {
		if id != s.Routes.Users && id != atrion.UnmatchedRoute && id != atrion.OverflowRoute {
			t.Errorf("unexpected route %q (raw path?); routes %q", id, r.a.Routes())
		}
	}
}

func testOutcomes(t *testing.T, s Server) {
	r := newRig(t, s, false)
	for code, n := range map[int]int{200: 2, 201: 1, 404: 1, 429: 1, 500: 2, 503: 1} {
		for range n {
			r.expect("/status/"+strconv.Itoa(code), "", code)
		}
	}
	r.totals(s.Routes.Status, func(tt atrion.Totals) bool { return tt.Successes == 3 && tt.Ignored == 2 && tt.Failures == 3 })

	// a panic is a failure, and it goes on to the server (or the
	// framework's recovery): the client sees an error or a 500 (net/http's
	// client may retry a GET whose connection broke: count every attempt)
	if res := r.do(context.Background(), http.MethodGet, "/panic", ""); res.err == nil && res.status != http.StatusInternalServerError {
		t.Fatalf("GET /panic: status %d, want 500 or a broken connection", res.status)
	}
	r.totals(s.Routes.Panic, func(tt atrion.Totals) bool { return tt.Failures >= 1 && tt.Failures == tt.Admitted })

	if s.Routes.Error != "" {
		r.expect("/error", "", http.StatusInternalServerError)
		r.totals(s.Routes.Error, func(tt atrion.Totals) bool { return tt.Failures == 1 })
	}

	if s.Cancels {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan response, 1)
		go func() { done <- r.do(ctx, http.MethodGet, "/block", "") }()
		select {
		case <-r.h.started:
		case <-time.After(5 * time.Second):
			t.Fatal("/block never started")
		}
		cancel()
		<-done
		tt := r.totals(s.Routes.Block, func(tt atrion.Totals) bool { return tt.Ignored == 1 })
		if tt.Failures != 0 || tt.Successes != 0 {
			t.Fatalf("a client that went away must be ignored: %+v", tt)
		}
	}
}

func testRejection(t *testing.T, s Server) {
	r := newRig(t, s, false)
	r.trip(s.Routes.Status)
	hits := r.h.hits.Load()
	res := r.expect("/status/200", "", http.StatusServiceUnavailable)
	if r.h.hits.Load() != hits {
		t.Fatal("the handler ran for a rejected request: shedding must happen before it")
	}
	ra, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q: want whole seconds ≥ 1", res.header.Get("Retry-After"))
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var body struct {
		Error, Reason, Mode string
		RetryAfterMs        int64 `json:"retry_after_ms"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("body %q: %v", res.body, err)
	}
	if body.Error != "circuit_open" || body.Reason != "circuit_open" || body.Mode != "CIRCUIT_OPEN" || body.RetryAfterMs <= 0 {
		t.Fatalf("body %q", res.body)
	}
	if got := (ra-1)*1000 + 1; int64(got) > body.RetryAfterMs {
		t.Fatalf("Retry-After %ds disagrees with retry_after_ms %d", ra, body.RetryAfterMs)
	}
	// other routes are not affected
	r.expect("/users/1", "", http.StatusOK)
}

// DeadlineHeader is the header the suite's adapters read timeouts from.
const DeadlineHeader = "X-Request-Timeout"

// testDeadline: once a route's no-load latency is known (50 ms of engine
// time), a request whose timeout header is shorter is refused before its
// handler runs (504, the pushback marker "deadline", no Retry-After) and
// counted; one with time enough is served; hostile values are no timeout,
// never a refusal or a hang.
func testDeadline(t *testing.T, s Server) {
	r := newRig(t, s, false)
	route := s.Routes.Users
	for range 20 { // the route's no-load latency: 50 ms
		tk, _ := r.a.Admit(route, atrion.PriorityNormal)
		r.clk.Advance(50 * time.Millisecond)
		tk.Done(atrion.Success)
	}
	r.clk.Advance(Tick)
	if f := r.snapshot(route).LatencyFloor; f < 40*time.Millisecond || f > 60*time.Millisecond {
		t.Fatalf("no-load latency %v, want about 50 ms", f)
	}
	timed := func(timeout string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, r.base+"/users/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(DeadlineHeader, timeout)
		res, err := r.c.Do(req)
		if err != nil {
			t.Fatalf("timeout %q: %v", timeout, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		return response{status: res.StatusCode, header: res.Header, body: string(b)}
	}
	hits := r.h.hits.Load()
	for _, short := range []string{"10m", "20ms", "1n"} {
		res := timed(short)
		if res.status != http.StatusGatewayTimeout || res.header.Get("Atrion-Reject") != "deadline" || res.header.Get("Retry-After") != "" {
			t.Fatalf("timeout %q under a 50 ms no-load latency: %d %v %q; want 504, Atrion-Reject: deadline, no Retry-After", short, res.status, res.header, res.body)
		}
		if !strings.Contains(res.body, `"reason":"deadline"`) {
			t.Fatalf("body %q", res.body)
		}
	}
	if r.h.hits.Load() != hits {
		t.Fatal("the handler ran for a request refused for its deadline")
	}
	r.totals(route, func(tt atrion.Totals) bool { return tt.Rejected.Deadline == 3 })
	for _, ok := range []string{"1S", "500ms", "", "garbage", "-5s", "0", "0m", "99999999H", "9223372036854775807ns",
		"99999999999999999999s", "123456789m", "１００m", "NaNs", strings.Repeat("9", 400) + "m"} {
		if res := timed(ok); res.status != http.StatusOK {
			t.Fatalf("timeout %.40q: %d %q; want it served (time enough, or no timeout)", ok, res.status, res.body)
		}
	}
	if tt := r.snapshot(route).Totals; tt.Rejected.Deadline != 3 {
		t.Fatalf("%d deadline refusals, want 3", tt.Rejected.Deadline)
	}
}

func testCustomReject(t *testing.T, s Server) {
	r := newRig(t, s, true)
	r.trip(s.Routes.Status)
	if res := r.expect("/status/200", "", http.StatusTooManyRequests); res.body != "custom" {
		t.Fatalf("custom reject handler body %q", res.body)
	}
}

// testPriorities raises a route's resistance through the band of graded
// shedding: bulk traffic is shed while critical traffic, and traffic with
// a bad priority header (treated as normal), still pass.
func testPriorities(t *testing.T, s Server) {
	r := newRig(t, s, false)
	// hold calls in flight on /block: three in the first tick set the
	// route's in-flight limit (its cap, 16, for a quiet route), then ten
	// in flight sit past bulk traffic's share (60 % of the limit) and below
	// every other priority's
	hold := func(n int) {
		for range n {
			go func() { _ = r.do(context.Background(), http.MethodGet, "/block", "critical") }()
			select {
			case <-r.h.started:
			case <-time.After(5 * time.Second):
				t.Fatal("/block never started")
			}
		}
	}
	hold(3)
	r.clk.Advance(Tick)
	hold(7)
	if in := r.snapshot(s.Routes.Block).InFlight; in != 10 {
		t.Fatalf("%v calls in flight on %s, want 10", in, s.Routes.Block)
	}
	// from now on /block returns at once: a probe is shed (503) or served
	// (200), and leaves the ten held calls in flight
	r.h.quick.Store(true)
	probe := func(priority string) bool {
		switch res := r.get("/block", priority); res.status {
		case http.StatusServiceUnavailable:
			return true
		case http.StatusOK:
			return false
		default:
			t.Fatalf("/block with X-Priority %q: %d %v", priority, res.status, res.err)
			return false
		}
	}
	if !probe("bulk") {
		t.Fatalf("bulk traffic not shed at 10 in flight under a limit of %.1f", r.snapshot(s.Routes.Block).Limit)
	}
	// priorities from the header reach the engine; what the header cannot
	// name is normal traffic, never bulk
	for _, p := range []string{"critical", " CRITICAL ", "high", "urgent", "-9", "99999999999999999999", "1e3", "normal"} {
		if probe(p) {
			t.Fatalf("X-Priority %q shed at 10 in flight: only bulk traffic should be", p)
		}
	}
}

func testSkipping(t *testing.T, s Server) {
	r := newRig(t, s, false)
	for _, p := range []string{"/skip/1", "/skip/2"} {
		r.expect(p, "", http.StatusOK)
	}
	if r.h.hits.Load() != 2 {
		t.Fatalf("skipped requests must still be served: %d handler runs", r.h.hits.Load())
	}
	for _, id := range r.a.Routes() {
		if strings.Contains(id, "skip") || id == atrion.UnmatchedRoute {
			t.Fatalf("a skipped request was tracked as %q", id)
		}
	}
}

func testHealing(t *testing.T, s Server) {
	r := newRig(t, s, false)
	r.trip(s.Routes.Status)
	r.expect("/status/200", "", http.StatusServiceUnavailable)
	sn := atriontest.Until(t, r.a, r.clk, s.Routes.Status, atrion.ModeOperational, 600, func() {
		r.get("/status/200", "")
		r.get("/status/200", "")
	})
	if sn.Mode != atrion.ModeOperational || sn.TransitionsByMode[atrion.ModeRecovering][atrion.ModeOperational] == 0 {
		t.Fatalf("route did not heal through RECOVERING: %v, transitions %v", sn.Mode, sn.TransitionsByMode)
	}
	r.expect("/status/200", "", http.StatusOK)
}

// hookCall is one call of a decision hook.
type hookCall struct {
	ctx   context.Context
	route string
	d     atrion.Decision
}

// testDecisionHook checks that the hook hears every decision, admitted
// and rejected, with the route and the request's context, and that the
// handler finds the decision in its context.
func testDecisionHook(t *testing.T, s Server) {
	if s.Hooked == nil {
		t.Fatal("the adapter's suite has no Hooked server: every adapter has a decision hook")
	}
	var mu sync.Mutex
	var calls []hookCall
	last := func() (hookCall, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) == 0 {
			return hookCall{}, 0
		}
		return calls[len(calls)-1], len(calls)
	}
	r := startRig(t, func(a *atrion.Atrion, h *Handlers) string {
		return s.Hooked(t, a, h, func(ctx context.Context, route string, d atrion.Decision) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, hookCall{ctx, route, d})
		})
	})

	r.expect("/users/1", "", http.StatusOK)
	c, n := last()
	if n != 1 || c.route != s.Routes.Users || !c.d.Allowed || c.d.Reason != atrion.ReasonAdmitted {
		t.Fatalf("after one admitted request: %d hook calls, last %+v; want one admitting %q", n, c, s.Routes.Users)
	}
	saw := r.h.saw.Load()
	if saw == nil {
		t.Fatal("the /users/<id> handler did not run")
	}
	if got, ok := atrion.DecisionFrom(*saw); !ok || got != c.d {
		t.Fatalf("the handler's context carries %+v (%v); the hook heard %+v", got, ok, c.d)
	}
	if got, ok := atrion.DecisionFrom(c.ctx); !ok || got != c.d || c.ctx != *saw {
		t.Fatalf("the hook's context is not the handler's (decision %+v, %v)", got, ok)
	}

	r.expect("/skip/1", "", http.StatusOK)
	if _, m := last(); m != n {
		t.Fatalf("a skipped request reached the hook (%d calls, was %d)", m, n)
	}

	r.trip(s.Routes.Status)
	hits := r.h.hits.Load()
	r.expect("/status/200", "", http.StatusServiceUnavailable)
	c, _ = last()
	if c.route != s.Routes.Status || c.d.Allowed || c.d.Reason != atrion.ReasonCircuitOpen || c.d.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("rejected request: the hook heard %+v on %q", c.d, c.route)
	}
	if d, ok := atrion.DecisionFrom(c.ctx); !ok || d != c.d {
		t.Fatalf("a rejected request's context carries %+v (%v)", d, ok)
	}
	if r.h.hits.Load() != hits {
		t.Fatal("the handler ran for a rejected request")
	}
}

// SkipAllocsUnderRace skips an allocation count under the race detector,
// where sync.Pool (which the frameworks and atrhttp use) drops items at
// random and so allocates at random.
func SkipAllocsUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
}

// RouteIDHeader is the header from which CheckRouteIDOption's server must
// take its route ID (through the adapter's WithRouteID).
const RouteIDHeader = "X-Route"

// CheckRouteIDOption sends GET url with three RouteIDHeader values to a
// server whose adapter takes its route ID from that header, and checks
// the routes a tracks: an empty ID is the unmatched route, an over-long
// one the engine's overflow route.
func CheckRouteIDOption(t *testing.T, a *atrion.Atrion, url string) {
	t.Helper()
	for _, id := range []string{"", strings.Repeat("x", atrion.MaxRouteIDLen+1), "tenant-a"} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(RouteIDHeader, id)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("route ID %.20q: status %d", id, res.StatusCode)
		}
	}
	if got := strings.Join(a.Routes(), ","); got != atrion.UnmatchedRoute+","+atrion.OverflowRoute+",tenant-a" {
		t.Fatalf("routes %s", got)
	}
}

// Discard is a ResponseWriter for allocation counts, reused across calls.
type Discard struct{ H http.Header }

// Header returns the reused header map.
func (d *Discard) Header() http.Header { return d.H }

// Write discards b.
func (d *Discard) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader does nothing.
func (d *Discard) WriteHeader(int) {}

// NoHook is a decision hook that does nothing, for allocation counts: a
// hook costs the adapter no allocation of its own.
func NoHook(context.Context, string, atrion.Decision) {}
