package loadtest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Run starts the test binary again as the backend, fronts and generator.
func TestMain(m *testing.M) {
	if child, err := RunChild(); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The shortened run: every contestant runs every scenario on real
// processes, and every count adds up. The figures themselves mean nothing
// at this length and are not judged.
func TestSmoke(t *testing.T) {
	cfg := SmokeConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress strings.Builder
	res, err := Run(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + progress.String())
	if want := len(cfg.Scenarios) * len(cfg.Contestants) * cfg.Rounds; len(res.Runs) != want {
		t.Fatalf("%d runs, want %d", len(res.Runs), want)
	}
	for _, sc := range cfg.Scenarios {
		for _, c := range cfg.Contestants {
			n := 0
			for _, r := range res.Runs {
				if r.Scenario == sc.Name && r.Contestant == c {
					n++
					checkRun(t, &sc, &r)
				}
			}
			if n != cfg.Rounds {
				t.Errorf("%s/%s: %d runs, want %d", sc.Name, c, n, cfg.Rounds)
			}
		}
	}
	var md strings.Builder
	if err := WriteReport(&md, res); err != nil {
		t.Fatal(err)
	}
	heads := []string{"## overload", "## failing", "## hang", "## starve", "## Generator", "## Shared capacity against", "tenant-big served/s"}
	for _, n := range ShareScenarioNames {
		heads = append(heads, "## "+n+":")
	}
	for _, name := range append(slices.Clone(cfg.Contestants), heads...) {
		if !strings.Contains(md.String(), name) {
			t.Errorf("report lacks %q", name)
		}
	}
}

func checkRun(t *testing.T, sc *Scenario, r *RunResult) {
	t.Helper()
	id := r.Scenario + "/" + r.Contestant
	if len(r.Phases) != len(sc.Phases) {
		t.Fatalf("%s: %d phases, want %d", id, len(r.Phases), len(sc.Phases))
	}
	if len(r.Checks) != len(sc.Checks) {
		t.Errorf("%s: %d checks judged, the scenario has %d", id, len(r.Checks), len(sc.Checks))
	}
	var due, ans Counts
	var backendServed int64
	focus := 0
	for i, p := range r.Phases {
		a := p.All
		if a.Offered == 0 || a.Offered != a.Served+a.Shed+a.Errors+a.Timeouts+a.Dropped {
			t.Errorf("%s %s: offered %d ≠ served %d + shed %d + errors %d + timeouts %d + dropped %d",
				id, p.Name, a.Offered, a.Served, a.Shed, a.Errors, a.Timeouts, a.Dropped)
		}
		var routes Counts
		for _, rc := range p.Routes {
			routes = sum(routes, rc)
		}
		if routes.Offered != a.Offered || routes.Served != a.Served || routes.Shed != a.Shed || routes.Lost() != a.Lost() {
			t.Errorf("%s %s: routes add up to %+v, all %+v", id, p.Name, routes, a)
		}
		if f, h := p.Focus.Offered, p.Healthy.Offered; f+h > a.Offered {
			t.Errorf("%s %s: focus %d + healthy %d of %d offered", id, p.Name, f, h, a.Offered)
		}
		if p.Lag.Sent != a.Offered-a.Dropped {
			t.Errorf("%s %s: %d sent, %d offered − %d dropped", id, p.Name, p.Lag.Sent, a.Offered, a.Dropped)
		}
		if p.Role == Warmup && a.Served == 0 {
			t.Errorf("%s %s: nothing served while healthy", id, p.Name)
		}
		switch f := sc.Phases[i].Faults[sc.Focus[0]]; {
		case f.ErrorRate > 0 && p.Backend.Failed == 0:
			t.Errorf("%s %s: the backend failed no call", id, p.Name)
		case f.Hang && p.Backend.Hung == 0:
			t.Errorf("%s %s: the backend hung no call", id, p.Name)
		}
		due, ans = sum(due, a), sum(ans, p.Answered.All)
		focus += p.Focus.Offered
		backendServed += p.Backend.Served
	}
	if focus == 0 {
		t.Errorf("%s: no request on the focus routes", id)
	}
	if ans.Served != due.Served || ans.Shed != due.Shed || ans.Lost() != due.Lost() {
		t.Errorf("%s: answers by arrival %+v, by due time %+v", id, ans, due)
	}
	if backendServed < int64(due.Served) {
		t.Errorf("%s: the front served %d requests, the backend only %d calls", id, due.Served, backendServed)
	}
}

func sum(a, b Counts) Counts {
	a.Offered += b.Offered
	a.Served += b.Served
	a.Shed += b.Shed
	a.Errors += b.Errors
	a.Timeouts += b.Timeouts
	a.Dropped += b.Dropped
	return a
}

func TestSchedule(t *testing.T) {
	sc := Scenario{Name: "s", Focus: []int{0}, Phases: []Phase{
		{Name: "a", Duration: 10 * time.Second, Load: 1},
		{Name: "b", Duration: 10 * time.Second, Load: 3},
	}}
	const capacity, critical = 200.0, 0.05
	recs := schedule(&sc, capacity, critical, 7)
	if again := schedule(&sc, capacity, critical, 7); !slices.Equal(recs, again) {
		t.Fatal("the same seed gave another schedule")
	}
	if other := schedule(&sc, capacity, critical, 8); slices.Equal(recs, other) {
		t.Fatal("another seed gave the same schedule")
	}
	var n [2]int
	var routes [len(Routes)]int
	crit := 0
	for i, r := range recs {
		if i > 0 && r.At < recs[i-1].At {
			t.Fatalf("record %d due before its predecessor", i)
		}
		if want := uint8(r.At / (10 * time.Second)); r.Phase != want {
			t.Fatalf("record at %v in phase %d", r.At, r.Phase)
		}
		n[r.Phase]++
		routes[r.Route]++
		if r.Crit {
			crit++
		}
	}
	// Poisson counts: within 5 standard deviations
	near := func(what string, got int, want float64) {
		if math.Abs(float64(got)-want) > 5*math.Sqrt(want) {
			t.Errorf("%s: %d, want about %.0f", what, got, want)
		}
	}
	near("phase a", n[0], 2000)
	near("phase b", n[1], 6000)
	for i, w := range Weights {
		near(Routes[i], routes[i], w*8000)
	}
	near("critical", crit, critical*8000)
}

func TestRecovery(t *testing.T) {
	const w = 250 * time.Millisecond
	start := 10 * time.Second
	// 40 requests per second for 2 s; those due before cut are turned away
	recs := func(cut time.Duration) []*Record {
		var out []*Record
		for at := time.Duration(0); at < 2*time.Second; at += 25 * time.Millisecond {
			o := Served
			if at < cut {
				o = Shed
			}
			out = append(out, &Record{At: start + at, Outcome: o})
		}
		return out
	}
	for _, tc := range []struct {
		cut, want time.Duration
	}{
		{0, 0},
		{100 * time.Millisecond, 250 * time.Millisecond},
		{600 * time.Millisecond, 750 * time.Millisecond},
		{2 * time.Second, -1},
	} {
		if got := recovery(recs(tc.cut), start, 2*time.Second, w); got != tc.want {
			t.Errorf("turned away until %v: recovered after %v, want %v", tc.cut, got, tc.want)
		}
	}
	// one loss among 10 in a window is below 95 %
	rs := recs(0)
	rs[30].Outcome = TimedOut
	if got := recovery(rs, start, 2*time.Second, w); got != time.Second {
		t.Errorf("one loss at %v: recovered after %v, want 1s", rs[30].At-start, got)
	}
	if got := bucketWidth(10); got != 2*time.Second {
		t.Errorf("bucket at 10/s: %v, want 2s", got)
	}
	if got := bucketWidth(1000); got != 250*time.Millisecond {
		t.Errorf("bucket at 1000/s: %v, want 250ms", got)
	}
}

func TestAnalyze(t *testing.T) {
	sc := Scenario{Name: "s", Focus: []int{Reports}, Healthy: []int{Catalog}, Phases: []Phase{
		{Name: "warm", Duration: time.Second, Role: Warmup},
		{Name: "fault", Duration: time.Second, Role: Incident},
		{Name: "after", Duration: time.Second, Role: Aftermath},
	}}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	out := &genOutput{
		Records: []Record{
			{At: ms(100), Latency: ms(50), Route: Catalog, Outcome: Served},
			{At: ms(900), Latency: ms(300), Route: Reports, Outcome: TimedOut}, // answered in phase 1
			{At: ms(1200), Latency: ms(1), Phase: 1, Route: Reports, Outcome: Errored},
			{At: ms(1400), Latency: ms(1), Phase: 1, Route: Reports, Crit: true, Outcome: Shed},
			{At: ms(1500), Phase: 1, Route: Orders, Lag: -1, Outcome: Dropped},
			{At: ms(2100), Latency: ms(2000), Phase: 2, Route: Reports, Outcome: Served}, // after the end
		},
		Backend: []BackendStats{{Served: 1}, {Served: 3}, {Served: 4}, {Served: 9}},
	}
	res := analyze(&sc, 100, out)
	p0, p1, p2 := res[0], res[1], res[2]
	if p0.All.Offered != 2 || p0.All.Served != 1 || p0.All.Timeouts != 1 || p0.Healthy.Served != 1 || p0.Focus.Offered != 1 {
		t.Errorf("warm: %+v", p0)
	}
	if p0.Answered.All.Served != 1 || p0.Answered.All.Timeouts != 0 || p1.Answered.All.Timeouts != 1 {
		t.Errorf("the timeout answered at 1.2 s belongs to phase 1: %+v, %+v", p0.Answered.All, p1.Answered.All)
	}
	if p1.FirstShed != ms(400) || p1.Critical.Offered != 1 || p1.Critical.Shed != 1 || p1.All.Dropped != 1 {
		t.Errorf("fault: %+v", p1)
	}
	if p1.Lag.Sent != 2 || p0.Lag.Sent != 2 {
		t.Errorf("sent: %d in phase 0, %d in phase 1", p0.Lag.Sent, p1.Lag.Sent)
	}
	if p2.Answered.All.Served != 1 || p2.Answered.All.P50 != ms(2000) || p2.Recovery != 0 {
		t.Errorf("after: %+v", p2)
	}
	if p0.Backend.Served != 2 || p1.Backend.Served != 1 || p2.Backend.Served != 5 {
		t.Errorf("backend per phase: %d %d %d", p0.Backend.Served, p1.Backend.Served, p2.Backend.Served)
	}
}

// The backend's queue, errors and hang, in process.
func TestBackend(t *testing.T) {
	b := newBackend(backendSpec{Workers: 1, Service: [len(Routes)]time.Duration{300 * time.Millisecond, 300 * time.Millisecond, time.Millisecond},
		Queue: 0, MaxHang: time.Minute})
	srv := httptest.NewServer(b)
	defer srv.Close()
	get := func(ctx context.Context, route string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/dep/"+route, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	ctx := context.Background()

	first := make(chan int)
	go func() { first <- get(ctx, "catalog") }()
	waitFor(t, func() bool { return b.stats.load().Arrived == 1 && len(b.pool) == 1 })
	if code := get(ctx, "orders"); code != http.StatusServiceUnavailable {
		t.Errorf("queue of 0 with the worker busy: %d, want 503", code)
	}
	if code := <-first; code != http.StatusOK {
		t.Errorf("first call: %d", code)
	}

	if err := putFaults(ctx, srv.Client(), srv.URL, on(Orders, Fault{ErrorRate: 1})); err != nil {
		t.Fatal(err)
	}
	if code := get(ctx, "orders"); code != http.StatusInternalServerError {
		t.Errorf("failing route: %d, want 500", code)
	}

	if err := putFaults(ctx, srv.Client(), srv.URL, on(Reports, Fault{Hang: true})); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithCancel(ctx)
	hung := make(chan int)
	go func() { hung <- get(hctx, "reports") }()
	waitFor(t, func() bool { return b.stats.load().Hung == 1 })
	cancel()
	if code := <-hung; code != 0 {
		t.Errorf("hung call answered %d", code)
	}
	s, err := getStats(ctx, srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := BackendStats{Arrived: 4, Served: 1, Failed: 1, Full: 1, Hung: 1}
	busy := s.BusyNanos
	s.BusyNanos = 0
	if s != want || busy < int64(600*time.Millisecond) {
		t.Errorf("stats %+v, busy %v; want %+v, busy ≥ 600ms", s, time.Duration(busy), want)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 5 s")
}

func TestConfigCheck(t *testing.T) {
	if c := DefaultConfig(); c.check() != nil || c.Capacity() != 200 {
		t.Fatalf("default config: %v, capacity %v", c.check(), c.Capacity())
	}
	for name, mutate := range map[string]func(*Config){
		"contestant": func(c *Config) { c.Contestants = []string{"nobody"} },
		"timeouts":   func(c *Config) { c.ClientTimeout = c.FrontTimeout },
		"phase":      func(c *Config) { c.Scenarios[0].Phases[0].Duration = 0 },
		"focus":      func(c *Config) { c.Scenarios[0].Focus = nil },
	} {
		c := DefaultConfig()
		mutate(&c)
		if c.check() == nil {
			t.Errorf("%s: bad config accepted", name)
		}
	}
}
