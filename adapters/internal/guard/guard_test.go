package guard

import (
	"context"
	"errors"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
)

// req is a request as a test transport has it.
type req struct {
	ctx              context.Context
	method, template string
	id               string // for RouteID
	skip             bool
}

func newGuard(t *testing.T, set func(*Guard[*req])) (*Guard[*req], *atrion.Atrion, *atrion.ManualClock) {
	t.Helper()
	a, clk := adaptertest.Engine(t)
	g := &Guard[*req]{
		Template:    func(r *req) (string, string) { return r.method, r.template },
		Context:     func(r *req) context.Context { return r.ctx },
		WithContext: func(r *req, ctx context.Context) *req { c := *r; c.ctx = ctx; return &c },
		Reject:      func(*req, atrion.Decision) error { return errRejected },
		Classify: func(_ *req, err error) atrion.Class {
			if err != nil {
				return atrion.Failure
			}
			return atrion.Success
		},
	}
	if set != nil {
		set(g)
	}
	g.Bind(a)
	return g, a, clk
}

var errRejected = errors.New("rejected")

var totals = adaptertest.Totals

// The route comes from RouteID, else Handle, else Template; after Bind an
// empty one is the unmatched route.
func TestAdmitRoutes(t *testing.T) {
	byID := func(g *Guard[*req]) { g.RouteID = func(r *req) string { return r.id } }
	byHandle := func(g *Guard[*req]) {
		g.Handle = func(r *req) *atrion.Handle {
			if r.template == "" {
				return nil
			}
			return g.Routes().Handle("HANDLE", r.template)
		}
	}
	for _, tc := range []struct {
		name string
		set  func(*Guard[*req])
		r    req
		want string
	}{
		{"template", nil, req{method: "GET", template: "/users/:id"}, "GET /users/:id"},
		{"no template", nil, req{method: "GET"}, atrion.UnmatchedRoute},
		{"route ID first", byID, req{method: "GET", template: "/users/:id", id: "tenant-a"}, "tenant-a"},
		{"empty route ID", byID, req{method: "GET", template: "/users/:id"}, atrion.UnmatchedRoute},
		{"handle first", byHandle, req{method: "GET", template: "/users/:id"}, "HANDLE /users/:id"},
		{"nil handle", byHandle, req{method: "GET"}, atrion.UnmatchedRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, a, _ := newGuard(t, tc.set)
			var ad Admission
			r := tc.r
			if _, ok := g.Admit(&r, &ad); !ok || !ad.Decision.Allowed || ad.Route != tc.want || ad.Ticket.Route() != tc.want {
				t.Fatalf("ok %v, decision %+v, route %q (ticket %q), want %q", ok, ad.Decision, ad.Route, ad.Ticket.Route(), tc.want)
			}
			ad.Ticket.Done(atrion.Success)
			if got := totals(t, a, tc.want); got.Admitted != 1 || got.Successes != 1 {
				t.Fatalf("totals %+v", got)
			}
		})
	}
}

// A skipped request is neither decided nor told.
func TestAdmitSkips(t *testing.T) {
	told := 0
	g, a, _ := newGuard(t, func(g *Guard[*req]) {
		g.Skip = func(r *req) bool { return r.skip }
		g.OnDecision = func(context.Context, string, atrion.Decision) { told++ }
	})
	var ad Admission
	if _, ok := g.Admit(&req{method: "GET", template: "/x", skip: true}, &ad); ok {
		t.Fatal("a skipped request was admitted")
	}
	if _, tracked := a.Snapshot("GET /x"); tracked || told != 0 || ad != (Admission{}) {
		t.Fatalf("route tracked %v, hook told %d times, admission %+v", tracked, told, ad)
	}
}

// The hook hears each decision with the request's context; asked to, the
// request goes on with the decision in its context.
func TestAdmitTells(t *testing.T) {
	type key struct{}
	var heard []string
	var heardCtx context.Context
	hook := func(ctx context.Context, route string, d atrion.Decision) {
		heard = append(heard, route)
		heardCtx = ctx
	}
	base := context.WithValue(context.Background(), key{}, "mine")

	g, _, _ := newGuard(t, func(g *Guard[*req]) { g.OnDecision = hook })
	var ad Admission
	r := &req{ctx: base, method: "GET", template: "/x"}
	if got, _ := g.Admit(r, &ad); got != r || heardCtx != base || len(heard) != 1 || heard[0] != "GET /x" {
		t.Fatalf("hook only: request replaced %v, hook heard %q with %v", got != r, heard, heardCtx)
	}
	ad.Ticket.Done(atrion.Success)

	g, _, _ = newGuard(t, func(g *Guard[*req]) { g.OnDecision, g.DecisionInContext = hook, true })
	ad = Admission{}
	got, _ := g.Admit(r, &ad)
	d, ok := atrion.DecisionFrom(got.ctx)
	if !ok || d != ad.Decision || got.ctx.Value(key{}) != "mine" || heardCtx != got.ctx {
		t.Fatalf("in context: decision %+v (%v), want %+v; the hook's context is the request's: %v", d, ok, ad.Decision, heardCtx == got.ctx)
	}
	ad.Ticket.Done(atrion.Success)
}

// Serve runs next and records its outcome; a rejected request never
// reaches next; a panic in next is a failure and goes on.
func TestServe(t *testing.T) {
	g, a, clk := newGuard(t, nil)
	const route = "GET /x"
	r := &req{method: "GET", template: "/x"}
	failed := errors.New("failed")
	if err := g.Serve(r, func(*req) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := g.Serve(r, func(*req) error { return failed }); err != failed {
		t.Fatalf("Serve returned %v, want next's error", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the handler's panic", p)
			}
		}()
		_ = g.Serve(r, func(*req) error { panic("boom") })
	}()
	if got := totals(t, a, route); got.Admitted != 3 || got.Successes != 1 || got.Failures != 2 {
		t.Fatalf("totals %+v: want 3 admitted, 1 success, 2 failures (an error and a panic)", got)
	}
	for range 100 { // fail once a tick until the circuit opens
		if s, _ := a.Snapshot(route); s.Mode == atrion.ModeCircuitOpen {
			break
		}
		_ = g.Serve(r, func(*req) error { return failed })
		clk.Advance(adaptertest.Tick)
	}
	ran := false
	if err := g.Serve(r, func(*req) error { ran = true; return nil }); err != errRejected || ran {
		t.Fatalf("on an open circuit: Serve returned %v, next ran %v", err, ran)
	}
}
