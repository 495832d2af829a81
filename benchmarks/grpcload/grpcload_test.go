package grpcload

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Run starts the test binary again as each server.
func TestMain(m *testing.M) {
	if child, err := ServeChild(); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpcload server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A shortened run on real processes: every contestant runs the mixed
// scenario, every call is accounted for on the client, and the server's
// counts agree with it. The figures mean nothing at this length and are
// not judged.
func TestSmoke(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rounds, cfg.Warmup, cfg.Measure = 1, 500*time.Millisecond, time.Second
	cfg.Scenarios = Scenarios[2:]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var progress strings.Builder
	res, err := Run(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + progress.String())
	if len(res) != len(cfg.Contestants) {
		t.Fatalf("%d results, want %d", len(res), len(cfg.Contestants))
	}
	for _, r := range res {
		tot := r.Client.Total()
		if tot.Sent < 300 || tot.Sent != tot.Served+tot.Shed+tot.TimedOut+tot.Errors+tot.Drop {
			t.Errorf("%s: %+v do not add up to the calls sent (about 400 due)", r.Contestant, tot)
		}
		if len(r.Client.Classes) != 2 || r.Client.Classes[0].Deadline != 60*time.Millisecond {
			t.Errorf("%s: deadline classes %+v, want 60 ms and 500 ms", r.Contestant, r.Client.Classes)
		}
		if tot.Served == 0 || int64(tot.Served) > r.Server.Served || r.Server.Started < r.Server.Served+r.Server.Wasted {
			t.Errorf("%s: client served %d, server %+v: a call served that the server did not serve", r.Contestant, tot.Served, r.Server)
		}
		if (r.Server.Route != nil) != (r.Contestant == Atrion) {
			t.Errorf("%s: route figures %+v, want them from Atrion alone", r.Contestant, r.Server.Route)
		}
	}
	var md strings.Builder
	Table(&md, res)
	if n := strings.Count(md.String(), "\n| mixed-deadlines-2x |"); n != len(res) {
		t.Errorf("table has %d rows, want %d:\n%s", n, len(res), md.String())
	}
}

// result is a made-up result for Check.
func result(scenario, contestant string, served int, wasted int64, route *RouteStats) Result {
	return Result{Round: 1, Scenario: scenario, Contestant: contestant, Seconds: 10,
		Client: ClientStats{Classes: []ClassCounts{{Deadline: time.Second, Sent: 4000, Served: served}}},
		Server: ServerStats{Wasted: wasted, Route: route}}
}

// Each pass criterion catches what it names, and a run that meets them
// all passes.
func TestCheck(t *testing.T) {
	calm := &RouteStats{ErrorRate: 0, MeanR: 10, MaxR: 12, BreakPoint: 100}
	mixed := "mixed-deadlines-2x"
	base := []Result{
		result(mixed, None, 1900, 40, nil),
		result(mixed, Failsafe, 1800, 30, nil),
		result("overload-3x", None, 170, 2800, nil),
		result("overload-3x", AtrionBefore, 1950, 0, calm),
	}
	for _, tc := range []struct {
		name  string
		runs  []Result
		wants []string // substrings of the misses, in order; none: a pass
	}{
		{"passes", []Result{result(mixed, Atrion, 1890, 40, calm), result("overload-3x", Atrion, 1930, 0, calm)}, nil},
		{"goodput below none's", []Result{result(mixed, Atrion, 1850, 0, calm)}, []string{"< none's"}},
		{"goodput below both", []Result{result(mixed, Atrion, 1700, 0, calm)}, []string{"< none's", "< failsafe-limiter's"}},
		{"wasted work", []Result{result(mixed, Atrion, 1900, 41, calm)}, []string{"wasted work 41 > none's 40"}},
		{"error rate", []Result{result(mixed, Atrion, 1900, 0, &RouteStats{ErrorRate: 0.01, MeanR: 10, MaxR: 10, BreakPoint: 100})}, []string{"error rate 0.010"}},
		{"R's mean", []Result{result(mixed, Atrion, 1900, 0, &RouteStats{MeanR: 21, MaxR: 30, BreakPoint: 100})}, []string{"not near its base"}},
		{"R's max", []Result{result(mixed, Atrion, 1900, 0, &RouteStats{MeanR: 11, MaxR: 100, BreakPoint: 100})}, []string{"not near its base"}},
		{"no route figures", []Result{result(mixed, Atrion, 1900, 0, nil)}, []string{"no route figures"}},
		{"overload worse than before", []Result{result("overload-3x", Atrion, 1900, 0, calm)}, []string{"< 98% of the before binary's"}},
		{"overload wasted", []Result{result("overload-3x", Atrion, 1950, 2801, calm)}, []string{"wasted work 2801 > none's 2800"}},
	} {
		got := Check(append(base[:len(base):len(base)], tc.runs...), Atrion)
		if len(got) != len(tc.wants) {
			t.Errorf("%s: misses %q, want %d", tc.name, got, len(tc.wants))
			continue
		}
		for i, w := range tc.wants {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: miss %q, want one with %q", tc.name, got[i], w)
			}
		}
	}
}

// A run whose generator fell behind is flagged; one that kept up is not.
func TestFlagged(t *testing.T) {
	ok := result("overload-3x", None, 100, 0, nil)
	ok.Client.Late = 40 // 1 % of 4000
	behind := ok
	behind.Client.Late = 41
	if f := Flagged([]Result{ok}); len(f) != 0 {
		t.Errorf("flagged %q, want none", f)
	}
	if f := Flagged([]Result{behind}); len(f) != 1 {
		t.Errorf("flagged %q, want the run", f)
	}
}

// The schedule is the same for the same seed and name, Poisson at the
// rate asked, with the deadlines in the share asked.
func TestSchedule(t *testing.T) {
	a := schedule("x", 1, 400, 10*time.Second, 0.5, 60*time.Millisecond, 500*time.Millisecond)
	b := schedule("x", 1, 400, 10*time.Second, 0.5, 60*time.Millisecond, 500*time.Millisecond)
	if len(a) != len(b) || a[len(a)-1] != b[len(b)-1] {
		t.Fatal("the same seed gave two schedules")
	}
	if n := len(a); n < 3800 || n > 4200 {
		t.Errorf("%d calls in 10 s at 400/s", n)
	}
	short := 0
	for i, c := range a {
		if c.deadline == 60*time.Millisecond {
			short++
		}
		if i > 0 && c.at < a[i-1].at || c.at >= 10*time.Second {
			t.Fatalf("call %d due at %v, out of order or outside the phase", i, c.at)
		}
	}
	if share := float64(short) / float64(len(a)); share < 0.47 || share > 0.53 {
		t.Errorf("short deadlines %.3f of the calls, want 0.5", share)
	}
}
