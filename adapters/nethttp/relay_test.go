package atrhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// Two hops on loopback: a front whose handler calls a guarded service
// through a Transport on the front's engine and answers 503 when the call
// is refused. The service's circuit is open: its rejections (pushback),
// the front's local throttling of them, and the front's own circuit on
// the dependency never count against the front's route, which stays
// operational; the service's rejections never open the Transport's
// circuit. A 503 the handler answers on its own still counts.
func TestRelayedRejectionsTwoHops(t *testing.T) {
	// the service, on its own engine, with its circuit opened
	b, bclk := adaptertest.Engine(t)
	var fail atomic.Bool
	fail.Store(true)
	svcMux := http.NewServeMux()
	svcMux.HandleFunc("GET /items", func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	critical := atrhttp.WithPriority(func(*http.Request) atrion.Priority { return atrion.PriorityCritical })
	svc := adaptertest.Serve(t, atrhttp.Middleware(b, critical)(svcMux))
	atriontest.Until(t, b, bclk, "GET /items", atrion.ModeCircuitOpen, 100, func() { get(t, svc+"/items") })
	fail.Store(false) // healthy now, but its circuit stays open for a while: it sheds

	// the front: the same engine guards its routes and its calls
	a, clk := adaptertest.Engine(t)
	out := client(t, a)
	var selfish atomic.Bool
	frontMux := http.NewServeMux()
	frontMux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		if selfish.Load() { // a 503 of the handler's own making
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, svc+"/items", nil)
		res, err := out.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		w.WriteHeader(res.StatusCode)
	})
	front := adaptertest.Serve(t, atrhttp.Middleware(a)(frontMux))

	codes := map[int]int{}
	for i := range 300 {
		codes[get(t, front+"/page")]++
		if i%10 == 9 {
			clk.Advance(100 * time.Millisecond) // 30 ticks of the front's engine
		}
	}
	if codes[http.StatusServiceUnavailable]+codes[http.StatusBadGateway] != 300 {
		t.Fatalf("the service sheds everything, yet the front answered %v", codes)
	}
	if codes[http.StatusBadGateway] == 0 {
		t.Fatalf("the front never throttled its calls: %v", codes)
	}
	s := adaptertest.Snapshot(t, a, "GET /page")
	if s.Totals.Failures != 0 || s.Totals.Ignored != 300 || s.Mode != atrion.ModeOperational {
		t.Fatalf("relayed rejections counted against the front's route: %+v, %v", s.Totals, s.Mode)
	}
	dep := adaptertest.Snapshot(t, a, "GET "+svc[len("http://"):])
	if dep.Totals.Failures != 0 || dep.Mode != atrion.ModeOperational {
		t.Fatalf("the service's pushback counted against the dependency: %+v, %v", dep.Totals, dep.Mode)
	}

	selfish.Store(true)
	for range 20 {
		get(t, front+"/page")
	}
	if s := adaptertest.Snapshot(t, a, "GET /page"); s.Totals.Failures != 20 {
		t.Fatalf("the handler's own 503s: %d failures, want 20", s.Totals.Failures)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// A Transport on the middleware's engine makes the middleware carry each
// admitted request's hop state in its context: the context and the
// request's copy (http.Request.WithContext), two allocations, the cost of
// WithDecisionInContext. Without a Transport on the engine, none (see
// TestAdmittedPathAllocs).
func TestHopStateAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	mux := http.NewServeMux()
	mux.Handle("GET /ping", atrhttp.Middleware(a)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	bare := http.NewServeMux()
	bare.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r := httptest.NewRequest(http.MethodGet, "/ping", nil)
	base := allocs(bare, r)
	if got := allocs(mux, r); got != base {
		t.Fatalf("no Transport on the engine: %v allocs, bare mux %v", got, base)
	}
	_ = atrhttp.Transport(a, nil)
	if got := allocs(mux, r); got != base+2 {
		t.Fatalf("with a Transport on the engine: %v allocs, want the bare mux's %v + 2", got, base)
	}
}
