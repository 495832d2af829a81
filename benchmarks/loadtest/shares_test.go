package loadtest

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Streams: each at its own rate, with its key, in due order, the same
// for the same seed.
func TestScheduleStreams(t *testing.T) {
	sc := Scenario{Name: "s", Focus: []int{Catalog}, Keys: []string{"a", "b"}, Phases: []Phase{
		{Name: "one", Duration: 20 * time.Second, Streams: []Stream{{Route: Catalog, Key: 1, Rate: 60}, {Route: Reports, Key: 2, Rate: 10}, {Route: Orders, Rate: 0}}},
		{Name: "two", Duration: 10 * time.Second, Load: 1},
	}}
	recs := schedule(&sc, 100, 0.05, 3)
	if again := schedule(&sc, 100, 0.05, 3); !slices.Equal(recs, again) {
		t.Fatal("the same seed gave another schedule")
	}
	var n [2][len(Routes)]int
	keyed := map[uint8]int{}
	for i, r := range recs {
		if i > 0 && r.At < recs[i-1].At {
			t.Fatalf("record %d due before its predecessor", i)
		}
		if want := uint8(r.At / (20 * time.Second)); r.Phase != want {
			t.Fatalf("record at %v in phase %d", r.At, r.Phase)
		}
		n[r.Phase][r.Route]++
		if r.Phase == 0 {
			keyed[r.Key]++
			if r.Crit {
				t.Fatal("a stream's request marked critical")
			}
		} else if r.Key != 0 {
			t.Fatal("a request of a load phase carries a key")
		}
	}
	near := func(what string, got int, want float64) {
		if math.Abs(float64(got)-want) > 5*math.Sqrt(want) {
			t.Errorf("%s: %d, want about %.0f", what, got, want)
		}
	}
	near("catalog stream", n[0][Catalog], 1200)
	near("reports stream", n[0][Reports], 200)
	if n[0][Orders] != 0 || keyed[0] != 0 || keyed[1] != n[0][Catalog] || keyed[2] != n[0][Reports] {
		t.Errorf("streams' routes and keys: %v, %v", n[0], keyed)
	}
	near("load phase", n[1][Catalog]+n[1][Orders]+n[1][Reports], 1000)
}

// attempt retries what was shed, stops at the first success or after
// Max retries, and tells a banned key's 429 from a plain one.
func TestAttempt(t *testing.T) {
	var calls atomic.Int64
	var keys []string
	fail := atomic.Int64{}
	banned := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		keys = append(keys, r.Header.Get(KeyHeader)) // one request at a time
		switch {
		case banned.Load():
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"banned","reason":"banned","mode":"BEHAVIORAL","retry_after_ms":900}`))
		case fail.Add(-1) >= 0:
			w.WriteHeader(http.StatusTooManyRequests) // a peer's rejection: no banned body
			_, _ = w.Write([]byte(`{"error":"banned-ish"}`))
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	retry := &Retry{Max: 2, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		fails     int64
		ban       bool
		retry     *Retry
		want      Outcome
		tries     uint8
		wasBanned bool
	}{
		{"served at once", 0, false, retry, Served, 1, false},
		{"served on the last retry", 2, false, retry, Served, 3, false},
		{"retries run out", 5, false, retry, Shed, 3, false},
		{"no retry", 1, false, nil, Shed, 1, false},
		{"banned", 0, true, retry, Shed, 3, true},
	} {
		calls.Store(0)
		keys = nil
		fail.Store(tc.fails)
		banned.Store(tc.ban)
		var r Record
		attempt(ctx, srv.Client(), srv.URL, "tenant-x", &r, tc.retry, rng)
		if r.Outcome != tc.want || r.Tries != tc.tries || r.Banned != tc.wasBanned || calls.Load() != int64(tc.tries) {
			t.Errorf("%s: outcome %d, %d tries (%d calls), banned %v; want %d, %d, %v", tc.name, r.Outcome, r.Tries, calls.Load(), r.Banned, tc.want, tc.tries, tc.wasBanned)
		}
		if len(keys) == 0 || keys[0] != "tenant-x" {
			t.Errorf("%s: key header %q", tc.name, keys)
		}
	}
	var r Record
	attempt(ctx, srv.Client(), srv.URL, "", &r, nil, rng)
	if keys[len(keys)-1] != "" {
		t.Errorf("no key sent a key header %q", keys[len(keys)-1])
	}
	// a dead context stops the retries after the first attempt
	done, cancel := context.WithCancel(ctx)
	cancel()
	fail.Store(5)
	banned.Store(false)
	calls.Store(0)
	attempt(done, srv.Client(), srv.URL, "", &r, retry, rng)
	if calls.Load() != 1 {
		t.Errorf("dead context: %d calls", calls.Load())
	}
}

// recsAt builds n served records of route r and key k, evenly due over
// w, answered after lat (answers past w.to do not count in w: keep lat
// below the spacing where that matters).
func recsAt(w span, n int, r, k int, lat time.Duration, o Outcome) []Record {
	out := make([]Record, n)
	for i := range out {
		at := w.from + time.Duration(i)*w.length()/time.Duration(n)
		out[i] = Record{At: at, Latency: lat, Route: uint8(r), Key: uint8(k), Outcome: o, Tries: 1}
	}
	return out
}

func phaseOf(sc *Scenario, recs []Record) []Record {
	for i := range recs {
		var start time.Duration
		for pi, p := range sc.Phases {
			if recs[i].At >= start && recs[i].At < start+p.Duration {
				recs[i].Phase = uint8(pi)
			}
			start += p.Duration
		}
	}
	return recs
}

func verdicts(t *testing.T, sc *Scenario, recs []Record) map[string]CheckResult {
	t.Helper()
	cfg := DefaultConfig()
	out := map[string]CheckResult{}
	for _, c := range judgeRun(sc, &cfg, phaseOf(sc, recs)) {
		out[c.Label] = c
	}
	if len(out) != len(sc.Checks) {
		t.Fatalf("%d verdicts for %d checks", len(out), len(sc.Checks))
	}
	return out
}

// The checks of equal-routes on made-up runs: equal shares of a full
// pool pass; one route taking most fails Jain; a half-idle pool fails
// goodput.
func TestEqualRoutesChecks(t *testing.T) {
	tl := DefaultShareTimeline
	sc := equalRoutes(tl, false)
	j := &judge{sc: &sc}
	over := j.judged("2× over", tl.Grace)
	if over.length() != tl.Incident-tl.Grace {
		t.Fatalf("judged window %v", over)
	}
	whole := j.phase("2× over")
	whole.to += time.Second // the run's last answers come after its end
	run := func(rates ...int) map[string]CheckResult {
		var recs []Record
		for r, rate := range rates {
			recs = append(recs, recsAt(whole, rate*int(whole.length()/time.Second), r, 0, time.Millisecond, Served)...)
		}
		return verdicts(t, &sc, recs)
	}
	fair := run(16, 16, 16) // 48/s of 8 ÷ 160 ms = 50/s
	if c := fair["Jain's index of the routes' goodput"]; !c.Pass || c.Value != "1.00" {
		t.Errorf("equal shares: %+v", c)
	}
	if c := fair["goodput, ÷ capacity"]; !c.Pass || c.Value != "0.96" { // 48/s × 160 ms ÷ 8
		t.Errorf("full pool: %+v", c)
	}
	if c := fair["served/s by route"]; c.Value != "16:16:16" {
		t.Errorf("rates: %+v", c)
	}
	if c := run(38, 5, 5)["Jain's index of the routes' goodput"]; c.Pass {
		t.Errorf("one route takes most: %+v", c)
	}
	if c := run(8, 8, 8)["goodput, ÷ capacity"]; c.Pass || c.Value != "0.48" { // 24/s × 160 ms ÷ 8
		t.Errorf("half-idle pool: %+v", c)
	}
	for l, c := range run(0, 0, 0) {
		if c.Pass && c.Target != "" {
			t.Errorf("nothing served: %s passed: %+v", l, c)
		}
	}
}

// The checks of hetero-cost: slow lookups fail p99, shed lookups fail
// their share.
func TestHeteroCostChecks(t *testing.T) {
	tl := DefaultShareTimeline
	sc := heteroCost(tl)
	j := &judge{sc: &sc}
	healthy, spike := j.phase("healthy"), j.judged("reports spike", tl.Grace)
	run := func(lookupLat time.Duration, lookupsShed int) map[string]CheckResult {
		recs := recsAt(healthy, 150, Catalog, 0, 10*time.Millisecond, Served)
		recs = append(recs, recsAt(spike, 150-lookupsShed, Catalog, 0, lookupLat, Served)...)
		recs = append(recs, recsAt(spike, lookupsShed, Catalog, 0, time.Millisecond, Shed)...)
		// reports fill the pool: 38.75/s × 200 ms = 7.75 workers
		recs = append(recs, recsAt(span{j.phase("reports spike").from, spike.to + time.Second}, 233, Reports, 0, time.Millisecond, Served)...)
		return verdicts(t, &sc, recs)
	}
	good := run(15*time.Millisecond, 0)
	for _, l := range []string{"lookups served during the spike, ÷ offered", "lookups' p99 during the spike ÷ healthy p99", "goodput in work during the spike, ÷ capacity"} {
		if !good[l].Pass {
			t.Errorf("good run: %s: %+v", l, good[l])
		}
	}
	if c := good["lookups' p99, healthy → spike, ms"]; c.Value != "10→15" {
		t.Errorf("p99s: %+v", c)
	}
	if c := run(30*time.Millisecond, 0)["lookups' p99 during the spike ÷ healthy p99"]; c.Pass || c.Value != "3.0" {
		t.Errorf("slow lookups: %+v", c)
	}
	if c := run(15*time.Millisecond, 30)["lookups served during the spike, ÷ offered"]; c.Pass || c.Value != "0.80" {
		t.Errorf("shed lookups: %+v", c)
	}
}

// The checks of big-tenant: one banned answer fails, and the big
// tenant's service is judged against min(demand, max-min share).
func TestBigTenantChecks(t *testing.T) {
	tl := DefaultShareTimeline
	sc := bigTenant(tl)
	j := &judge{sc: &sc}
	slow, surge := j.judged("backend slow", tl.Grace), j.judged("big surges", tl.Grace)
	secs := int(slow.length() / time.Second)
	run := func(bigSlow, bigSurge int, smallShed int, ban bool) map[string]CheckResult {
		recs := recsAt(slow, bigSlow*secs, Catalog, 1, time.Millisecond, Served)
		recs = append(recs, recsAt(surge, bigSurge*secs, Catalog, 1, time.Millisecond, Served)...)
		for k := 2; k <= 5; k++ {
			recs = append(recs, recsAt(slow, 10*secs-smallShed, Catalog, k, time.Millisecond, Served)...)
			recs = append(recs, recsAt(slow, smallShed, Catalog, k, time.Millisecond, Shed)...)
			recs = append(recs, recsAt(surge, 10*secs, Catalog, k, time.Millisecond, Served)...)
		}
		if ban {
			recs = append(recs, Record{At: slow.from, Latency: time.Millisecond, Route: Catalog, Key: 1, Outcome: Shed, Banned: true, Tries: 1})
		}
		return verdicts(t, &sc, recs)
	}
	// backend slow: 8 ÷ 100 ms = 80/s; shares 40 for the big tenant. Its
	// surge: 200/s; shares 160.
	good := run(40, 160, 0, false)
	for l, c := range good {
		if !c.Pass {
			t.Errorf("good run: %s: %+v", l, c)
		}
	}
	if c := good["backend slow: big tenant served ÷ min(demand, fair share)"]; c.Value != "1.00" {
		t.Errorf("slow: %+v", c)
	}
	bad := run(30, 140, 2, true)
	for _, l := range []string{"big tenant's requests refused as banned", "backend slow: big tenant served ÷ min(demand, fair share)",
		"big surges: big tenant served ÷ min(demand, fair share)", "backend slow: small tenants served, ÷ offered"} {
		if bad[l].Pass {
			t.Errorf("bad run: %s passed: %+v", l, bad[l])
		}
	}
}

// Hostile scenario settings are refused.
func TestShareScenarioCheck(t *testing.T) {
	for _, sc := range ShareScenarios(DefaultShareTimeline) {
		if err := sc.check(); err != nil {
			t.Errorf("%s: %v", sc.Name, err)
		}
	}
	for name, mutate := range map[string]func(*Scenario){
		"stream route":    func(s *Scenario) { s.Phases[0].Streams[0].Route = len(Routes) },
		"negative route":  func(s *Scenario) { s.Phases[0].Streams[0].Route = -1 },
		"stream key":      func(s *Scenario) { s.Phases[0].Streams[0].Key = len(s.Keys) + 1 },
		"negative rate":   func(s *Scenario) { s.Phases[0].Streams[0].Rate = -1 },
		"NaN rate":        func(s *Scenario) { s.Phases[0].Streams[0].Rate = math.NaN() },
		"huge rate":       func(s *Scenario) { s.Phases[0].Streams[0].Rate = 1e9 },
		"load and stream": func(s *Scenario) { s.Phases[0].Load = 1 },
		"empty key":       func(s *Scenario) { s.Keys[0] = "" },
		"key with space":  func(s *Scenario) { s.Keys[0] = "a b" },
		"key with CRLF":   func(s *Scenario) { s.Keys[0] = "a\r\nX-Priority: critical" },
		"key non-ASCII":   func(s *Scenario) { s.Keys[0] = "ténant" },
		"long key":        func(s *Scenario) { s.Keys[0] = strings.Repeat("k", 65) },
		"too many keys":   func(s *Scenario) { s.Keys = slices.Repeat([]string{"k"}, maxKeys+1) },
		"service":         func(s *Scenario) { s.Service[0] = -time.Millisecond },
		"retry max":       func(s *Scenario) { s.Retry = &Retry{Max: 11, Backoff: time.Millisecond, MaxBackoff: time.Second} },
		"retry backoff":   func(s *Scenario) { s.Retry = &Retry{Max: 1, Backoff: 0, MaxBackoff: time.Second} },
		"retry cap":       func(s *Scenario) { s.Retry = &Retry{Max: 1, Backoff: time.Second, MaxBackoff: time.Millisecond} },
	} {
		sc := bigTenant(DefaultShareTimeline)
		mutate(&sc)
		if sc.check() == nil {
			t.Errorf("%s: bad scenario accepted", name)
		}
	}
}

// work counts only the part of a served call's service inside the
// window, and no work for calls that were not served.
func TestWork(t *testing.T) {
	sc := heteroCost(DefaultShareTimeline) // reports 200 ms, catalog 5 ms, 8 workers
	cfg := DefaultConfig()
	w := span{10 * time.Second, 11 * time.Second}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	recs := []Record{
		{At: ms(9900), Latency: ms(110), Route: Reports, Outcome: Served},  // answered at 10.010: 10 ms inside
		{At: ms(10500), Latency: ms(600), Route: Reports, Outcome: Served}, // 10.900–11.100: 100 ms inside
		{At: ms(10300), Latency: ms(200), Route: Reports, Outcome: Shed},   // not served
		{At: ms(10300), Latency: ms(5), Route: Catalog, Outcome: Served},   // 5 ms
		{At: ms(12000), Latency: ms(200), Route: Reports, Outcome: Served}, // after the window
	}
	j := &judge{sc: &sc, recs: recs, workers: cfg.Workers}
	for r := range Routes {
		j.service[r] = sc.serviceOf(r, cfg.Service)
	}
	if got, want := j.work(w), 0.115/8; math.Abs(got-want) > 1e-9 {
		t.Errorf("work %v, want %v", got, want)
	}
}
