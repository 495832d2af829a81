package atrdash

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func TestStateRatesHistoryAndTransitions(t *testing.T) {
	a, clk := newEngine(t)
	d := New(a, WithInterval(100*time.Millisecond), WithHistory(3))
	t0 := time.Now()
	traffic(a, clk, "GET /ok", 10, atrion.Success)
	traffic(a, clk, "GET /bad", 10, atrion.Success)

	d.mu.Lock()
	d.sampleLocked(t0)
	d.mu.Unlock()
	for range 4 {
		traffic(a, clk, "GET /ok", 10, atrion.Success)
	}
	open := atriontest.Trip(t, a, clk, "GET /bad")
	d.mu.Lock()
	d.sampleLocked(t0.Add(2 * time.Second))
	d.sampleLocked(t0.Add(3 * time.Second))
	d.sampleLocked(t0.Add(4 * time.Second))
	st := d.stateLocked(true)
	d.mu.Unlock()

	if len(st.Routes) != 2 || st.Routes[0].Route != "GET /bad" || st.Routes[1].Route != "GET /ok" {
		t.Fatalf("routes = %+v, want GET /bad then GET /ok (overflow hidden)", st.Routes)
	}
	bad, ok := st.Routes[0], st.Routes[1]
	if bad.Mode != "CIRCUIT_OPEN" || bad.Resistance != num(open.Resistance) || bad.BreakPoint != num(open.BreakPoint) {
		t.Errorf("GET /bad: mode %s R %.2f break %.2f, want the engine's: %v R %.2f break %.2f",
			bad.Mode, bad.Resistance, bad.BreakPoint, open.Mode, open.Resistance, open.BreakPoint)
	}
	if len(ok.History) != 3 || ok.History[0].T != t0.Add(2*time.Second).UnixMilli() {
		t.Errorf("history = %+v, want the last 3 points, oldest first", ok.History)
	}
	if ok.Totals.Admitted != 50 || ok.Totals.Successes != 50 {
		t.Errorf("totals = %+v, want 50 admitted and successful", ok.Totals)
	}
	// the 40 requests between the first two samples, over 2 s; the
	// later samples saw no new traffic
	if ok.Rates.Admitted != 0 {
		t.Errorf("rate after idle samples = %v, want 0", ok.Rates.Admitted)
	}
	if len(st.Transitions) != 1 || st.Transitions[0].Route != "GET /bad" ||
		st.Transitions[0].From != "OPERATIONAL" || st.Transitions[0].To != "CIRCUIT_OPEN" {
		t.Errorf("transitions = %+v, want GET /bad OPERATIONAL → CIRCUIT_OPEN", st.Transitions)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Fatal(err)
	}
}

func TestRatesFromTotals(t *testing.T) {
	prev := atrion.Totals{Admitted: 100, Successes: 80, Failures: 10}
	prev.Rejected.Shed = 4
	cur := atrion.Totals{Admitted: 300, Successes: 240, Failures: 30}
	cur.Rejected.Shed = 14
	cur.Rejected.CircuitOpen = 10
	got := rates(prev, cur, 2*time.Second)
	if want := (Rates{Served: 80, Admitted: 100, Shed: 10, Failed: 10}); got != want {
		t.Errorf("rates = %+v, want %+v", got, want)
	}
	// counters reset by an eviction read as zero, not as a huge rate
	if got := rates(cur, prev, time.Second); got != (Rates{}) {
		t.Errorf("rates after reset = %+v, want zero", got)
	}
	if got := rates(prev, cur, 0); got != (Rates{}) {
		t.Errorf("rates over no time = %+v, want zero", got)
	}
}

func TestNumIsJSONSafe(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if num(x) != 0 {
			t.Errorf("num(%v) = %v, want 0", x, num(x))
		}
	}
	if num(1.23456) != 1.235 || num(2e20) != 2e20 {
		t.Errorf("num rounds wrong: %v %v", num(1.23456), num(2e20))
	}
}

func TestEvictedRouteLeavesState(t *testing.T) {
	a, clk := newEngine(t)
	d := New(a)
	traffic(a, clk, "GET /gone", 3, atrion.Success)
	if st := d.State(); len(st.Routes) != 1 {
		t.Fatalf("routes = %d, want 1", len(st.Routes))
	}
	a.Evict("GET /gone")
	d.mu.Lock()
	d.sampleLocked(time.Now().Add(time.Second))
	n := len(d.tracks)
	d.mu.Unlock()
	if n != 0 {
		t.Errorf("%d tracks kept after eviction, want 0", n)
	}
}

func TestOptionsClamp(t *testing.T) {
	c := newConfig([]Option{WithInterval(-time.Second), WithHistory(-5), WithMaxClients(0), WithControls("short"), nil})
	if c.interval != minInterval || c.history != 2 || c.maxClients != 1 || c.token != "" {
		t.Errorf("low values: %+v", c)
	}
	c = newConfig([]Option{WithInterval(time.Hour), WithHistory(1 << 30), WithMaxClients(1 << 30)})
	if c.interval != maxInterval || c.history != maxHistory || c.maxClients != maxClientsCap {
		t.Errorf("high values: %+v", c)
	}
	c = newConfig(nil)
	if c.interval != DefaultInterval || c.history != DefaultHistory || c.maxClients != DefaultMaxClients {
		t.Errorf("defaults: %+v", c)
	}
}

func TestNewNilEnginePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	New(nil)
}

func TestPageAndAPI(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /users/:id", 3, atrion.Success)
	srv := serve(t, New(a, WithTitle("shop")))
	cases := []struct {
		path, ctype string
		code        int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/app.js", "text/javascript; charset=utf-8", 200},
		{"/app.css", "text/css; charset=utf-8", 200},
		{"/api/state", "application/json", 200},
		{"/nope", "text/plain; charset=utf-8", 404},
		{"/../../etc/passwd", "text/plain; charset=utf-8", 404},
	}
	for _, c := range cases {
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.code || res.Header.Get("Content-Type") != c.ctype {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.code, c.ctype)
		}
		if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: security headers missing", c.path)
		}
	}
	res, err := http.Get(srv.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st State
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Title != "shop" || len(st.Routes) != 1 || st.Routes[0].Route != "GET /users/:id" ||
		st.Routes[0].Mode != "OPERATIONAL" || len(st.Routes[0].History) != 1 || st.Controls {
		t.Errorf("state = %+v", st)
	}
	res2, err := http.Post(srv.URL+"/api/state", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/state: %d, want 405", res2.StatusCode)
	}
}

// TestStateShowsTheLimit: a route's card says why it sheds with its
// circuit closed: its in-flight against its limit, its learned no-load
// latency and its window's error rate, as the engine's snapshot has them.
func TestStateShowsTheLimit(t *testing.T) {
	a, clk := newEngine(t)
	d := New(a, WithInterval(100*time.Millisecond))
	var held []atrion.Ticket
	for i := range 20 {
		traffic(a, clk, "GET /busy", 10, atrion.Success)
		if i%2 == 0 {
			traffic(a, clk, "GET /busy", 2, atrion.Failure)
		}
	}
	for range 3 { // three calls still in flight
		tk, _ := a.Admit("GET /busy", atrion.PriorityNormal)
		held = append(held, tk)
	}
	d.mu.Lock()
	d.sampleLocked(time.Now())
	st := d.stateLocked(false)
	d.mu.Unlock()
	snap, _ := a.Snapshot("GET /busy")
	r := st.Routes[0]
	if r.Route != "GET /busy" || r.InFlight != 3 || r.Limit <= 0 || r.Limit != num(snap.Limit) {
		t.Errorf("in flight %v, limit %v (snapshot %v): want 3 and the snapshot's limit", r.InFlight, r.Limit, snap.Limit)
	}
	if want := num(float64(snap.LatencyFloor) / 1e6); r.LatencyFloor != want {
		t.Errorf("no-load latency %v ms, want the snapshot's %v", r.LatencyFloor, want)
	}
	if r.ErrorRate <= 0 || r.ErrorRate != num(snap.ErrorRate) {
		t.Errorf("error rate %v, want the snapshot's %v (> 0)", r.ErrorRate, snap.ErrorRate)
	}
	for i := range held {
		held[i].Done(atrion.Success)
	}
}
