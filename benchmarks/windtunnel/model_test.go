package windtunnel

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// These tests pin the service model and the fairness decisions: what each
// scenario and contestant is given, not how well anyone does.

// tiny is a one-route scenario on one service, for model tests.
func tiny(svc Service, rt Route, tr Traffic, d time.Duration) Scenario {
	rt.Service, tr.Routes = svc.Name, []string{rt.ID}
	return Scenario{Name: "tiny", Kind: Fault, Duration: d, Watch: rt.ID,
		Services: []Service{svc}, Routes: []Route{rt}, Traffic: []Traffic{tr}}
}

func mustSimulate(t *testing.T, sc Scenario, c Contestant) *Result {
	t.Helper()
	r, err := Simulate(sc, c, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDeadlineAwareDropsAbandonedWork: after an overload, a plain service
// still works through a queue of calls whose callers have gone; a
// deadline-aware one drops them and serves new calls at once.
func TestDeadlineAwareDropsAbandonedWork(t *testing.T) {
	sc := tiny(Service{Name: "s", Capacity: 1, Health: Const(Health{Latency: 100 * ms})},
		Route{ID: "r", Timeout: 300 * ms},
		Traffic{Class: "u", Legit: true, Rate: Steps([]time.Duration{0, 10 * sec}, []float64{40, 2})}, 20*sec)
	after := span(10.5, 20)
	plain := mustSimulate(t, sc, None).Route("r", after)
	sc.Services[0].DeadlineAware = true
	aware := mustSimulate(t, sc, None).Route("r", after)
	if s := plain.SuccessShare(); s > 0.1 {
		t.Errorf("plain service: %.0f%% served in time after the overload, want its backlog to delay them", 100*s)
	}
	if s := aware.SuccessShare(); s < 0.9 {
		t.Errorf("deadline-aware service: %.0f%% served in time after the overload, want its dead backlog dropped", 100*s)
	}
}

// TestDeadlinePropagation: a deadline-aware caller cancels its downstream
// call when its own caller gives up; a plain one waits on.
func TestDeadlinePropagation(t *testing.T) {
	sc := Scenario{Name: "prop", Kind: Fault, Duration: 10 * sec, Watch: "A",
		Services: []Service{
			{Name: "a", Capacity: 50, Health: Const(Health{Latency: ms})},
			{Name: "b", Capacity: 50, Health: Const(Health{Latency: 2 * sec})},
		},
		Routes: []Route{
			{ID: "A", Service: "a", Timeout: 500 * ms, Calls: []string{"B"}},
			{ID: "B", Service: "b", Timeout: 5 * sec},
		},
		Traffic: []Traffic{openLoop("u", Flat(10), "A")},
	}
	plain := mustSimulate(t, sc, None).Route("B", span(0, 7))
	sc.Services[0].DeadlineAware = true
	aware := mustSimulate(t, sc, None).Route("B", span(0, 7))
	if plain.Canceled != 0 || plain.OK == 0 {
		t.Errorf("plain caller: B %+v, want its calls waited for and served", plain)
	}
	if aware.Canceled == 0 || aware.OK != 0 {
		t.Errorf("deadline-aware caller: B %+v, want its calls cancelled with A's deadline", aware)
	}
}

// TestPatienceCancels: impatient users cancel (Canceled, not a timeout)
// and do not retry.
func TestPatienceCancels(t *testing.T) {
	sc := tiny(Service{Name: "s", Capacity: 50, Health: Const(Health{Latency: sec})},
		Route{ID: "r", Timeout: 5 * sec},
		Traffic{Class: "u", Legit: true, Rate: Flat(20), Patience: 100 * ms, Retry: Retry{Max: 2, Backoff: ms, OnReject: true}}, 10*sec)
	r := mustSimulate(t, sc, None)
	c, u := r.Route("r", span(0, 8)), r.Class("u", span(0, 8))
	if c.TimedOut != 0 || c.Canceled < c.Attempts*9/10 {
		t.Errorf("calls %+v, want nearly all cancelled and none timed out", c)
	}
	if c.Attempts > u.Offered+u.Offered/20 {
		t.Errorf("%d attempts for %d requests: a cancelled request must not be retried", c.Attempts, u.Offered)
	}
}

// TestCPUIsOwnWork: a node's CPU counts workers doing their own work, not
// those waiting on a downstream call.
func TestCPUIsOwnWork(t *testing.T) {
	sc := Scenario{Name: "cpu", Kind: Fault, Duration: 10 * sec, Watch: "A",
		Services: []Service{
			{Name: "a", Capacity: 10, Health: Const(Health{Latency: ms})},
			{Name: "b", Capacity: 10, Health: Const(Health{Latency: sec})},
		},
		Routes:  []Route{{ID: "A", Service: "a", Timeout: 5 * sec, Calls: []string{"B"}}, {ID: "B", Service: "b", Timeout: 5 * sec}},
		Traffic: []Traffic{openLoop("u", Flat(5), "A")},
	}
	w, err := simulate(sc, None, 1)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs[4:] { // past the first 2 s
			s += x
		}
		return s / float64(len(xs)-4)
	}
	// a holds about 5 workers of 10 waiting on b, but works 1 ms per call
	if u := mean(w.svcs[0].cpu); u > 0.01 {
		t.Errorf("caller's CPU %.3f while its workers only wait, want ≈ 0.0005", u)
	}
	if u := mean(w.svcs[1].cpu); math.Abs(u-0.5) > 0.15 {
		t.Errorf("callee's CPU %.3f, want ≈ 0.5 (5 of 10 workers at work)", u)
	}
	if n := len(w.svcs[0].cpu); n != 20 {
		t.Errorf("%d CPU samples in 10 s, want one per 500 ms", n)
	}
}

// TestCPUContention: past its cores, a CPU-bound service's calls slow
// down before its workers run out.
func TestCPUContention(t *testing.T) {
	svc := Service{Name: "s", Capacity: 64, Cores: 4, Health: Const(Health{Latency: 10 * ms})}
	p50 := func(rps float64) time.Duration {
		r := mustSimulate(t, tiny(svc, Route{ID: "r", Timeout: 5 * sec}, openLoop("u", Flat(rps), "r"), 10*sec), None)
		return r.Percentile(0.5)
	}
	low, high := p50(50), p50(380) // 0.5 and 3.8 cores' worth of work
	if low > 11*ms || high < 2*low {
		t.Errorf("p50 %v at low load, %v near the cores' capacity: want latency to rise with concurrency", low, high)
	}
}

// TestPartialOutage: with one of four replicas down a quarter of the calls
// fail fast and the rest are served.
func TestPartialOutage(t *testing.T) {
	sc, _ := ScenarioByName("partial-outage")
	c := mustSimulate(t, sc, None).Route("GET /api", sc.Incident)
	if share := float64(c.Failed) / float64(c.Attempts); math.Abs(share-0.25) > 0.03 {
		t.Errorf("%.3f of calls failed with one replica of four down, want 0.25", share)
	}
}

// TestHangIsSeenOnlyAsAbandonment: in the hang nothing fails; every call
// in the incident is abandoned, and the fallback serves the users.
func TestHangIsSeenOnlyAsAbandonment(t *testing.T) {
	sc, _ := ScenarioByName("hang")
	r := mustSimulate(t, sc, None)
	c := r.Route("GET /recs", span(22, 50))
	if c.Failed != 0 || c.OK != 0 || c.TimedOut == 0 {
		t.Errorf("hung route %+v: want only timeouts", c)
	}
	if s := r.Class("pages", r.All()).SuccessShare(); s < 0.99 {
		t.Errorf("pages served %.3f: the fallback should serve them", s)
	}
}

// TestBBRCPUFolding: BBR's CPU folds each 500 ms sample once, in order, as
// aegis's sampler does (a zero reading keeps the last stored usage), and
// reading late gives what reading on time would have: nothing is
// back-filled with the value at the time of reading.
func TestBBRCPUFolding(t *testing.T) {
	var samples []float64
	c := &bbrCPU{samples: func() []float64 { return samples }}
	samples = []float64{0.5, 0, 1}
	if got := c.read(); got != 95 { // 0→25 (500‰), →48 (kept 500‰), →95 (1000‰)
		t.Fatalf("after 0.5, 0, 1: %d‰, want 95", got)
	}
	if got := c.read(); got != 95 {
		t.Fatalf("no new sample: %d‰, want 95 unchanged", got)
	}
	late := &bbrCPU{samples: func() []float64 { return samples }}
	onTime := &bbrCPU{samples: func() []float64 { return samples }}
	samples = nil
	for _, u := range []float64{0.9, 0.9, 0.1, 0.1, 0.1, 0.1} {
		samples = append(samples, u)
		onTime.read()
	}
	if a, b := late.read(), onTime.read(); a != b {
		t.Fatalf("read after a gap %d‰, read every sample %d‰: want the same", a, b)
	}
}

// TestDeployment: engines and limiters run one per node (the routes a
// process guards share one), breakers one per route.
func TestDeployment(t *testing.T) {
	sc, _ := ScenarioByName("domino")
	w := newWorld(sc, atrion.NewManualClock(epoch), false, 1)
	env := w.env(sc)
	if !slices.Equal(env.Nodes, []string{"A", "B", "C"}) {
		t.Fatalf("nodes %v, want A, B, C", env.Nodes)
	}
	built := 0
	nodes := perNode(env, func(string, *int) *int { built++; return new(int) })
	if nodes.get("A:/home") != nodes.get("A:/order") || nodes.get("A:/home") == nodes.get("B:/reserve") || built != 2 {
		t.Error("per node: A's routes must share one instance, B another")
	}
	routes := perRoute(func(string, *int) *int { return new(int) })
	if routes.get("A:/home") == routes.get("A:/order") || routes.get("A:/home") != routes.get("A:/home") {
		t.Error("per route: one instance per route")
	}
	g, err := Atrion.New(env)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ag := g.(*atrionGuard)
	if len(ag.order) != 3 || ag.route("A:/home").a != ag.route("A:/order").a || ag.route("A:/home").a == ag.route("C:/stock").a {
		t.Errorf("Atrion: %d engines; want one per node, shared by its routes", len(ag.order))
	}
}

// TestAtrionAbandonedIsCanceled: a caller that timed out or went away
// reaches Atrion as Canceled (never as a failure); an error as Failure.
func TestAtrionAbandonedIsCanceled(t *testing.T) {
	sc := tiny(Service{Name: "s", Capacity: 1, Health: Const(Healthy(ms))}, Route{ID: "r", Timeout: sec}, openLoop("u", Flat(1), "r"), sec)
	for _, o := range []Outcome{Timeout, Canceled, Failure} {
		w := newWorld(sc, atrion.NewManualClock(epoch), false, 1)
		g, err := Atrion.New(w.env(sc))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := g.Admit("r", atrion.PriorityNormal)
		if !ok {
			t.Fatal("rejected")
		}
		w.clk.Advance(2 * sec)
		p.Done(o)
		w.clk.Advance(sec)
		ag := g.(*atrionGuard)
		s, _ := ag.order[0].Snapshot("r")
		tot := s.Totals
		if o == Failure && tot.Failures != 1 || o != Failure && (tot.Failures != 0 || tot.Successes != 0 || tot.Slow+tot.Ignored != 1) {
			t.Errorf("%s: totals %+v", o, tot)
		}
		g.Close()
	}
}

// TestClusterSharesState: in the cluster scenario Atrion's nodes share one
// provider and each one merges its peers' vectors.
func TestClusterSharesState(t *testing.T) {
	sc, _ := ScenarioByName("cluster")
	synctest.Test(t, func(t *testing.T) {
		w, err := simulate(sc, Atrion, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.guard.Close()
		for _, a := range w.guard.(*atrionGuard).order {
			if a.Stats().PeerUpdates == 0 {
				t.Errorf("a node merged no peer update: %+v", a.Stats())
			}
		}
	})
}

// TestJSONShape: `simulate -json` writes exactly the documented fields.
func TestJSONShape(t *testing.T) {
	sc, _ := ScenarioByName("cb-recovery")
	b := NewBoard(3, []Scenario{sc}, []Contestant{None, Atrion})
	for _, c := range b.Contestants {
		b.Add(Run(t, sc, c, 3))
	}
	var buf bytes.Buffer
	if err := b.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got := keys(doc); !slices.Equal(got, []string{"scenarios", "seed"}) || doc["seed"] != 3.0 {
		t.Fatalf("top level %v (seed %v)", got, doc["seed"])
	}
	scen := doc["scenarios"].([]any)[0].(map[string]any)
	if got := keys(scen); !slices.Equal(got, []string{"contestants", "kind", "name"}) || scen["name"] != "cb-recovery" || scen["kind"] != "fault" {
		t.Fatalf("scenario %v", scen)
	}
	want := []string{"checks", "checks_passed", "name", "p99_ms", "served", "served_incident", "shed", "state_changes", "wasted"}
	for i, c := range scen["contestants"].([]any) {
		m := c.(map[string]any)
		if got := keys(m); !slices.Equal(got, want) {
			t.Fatalf("contestant fields %v, want %v", got, want)
		}
		if m["name"] != b.Contestants[i].Name {
			t.Errorf("contestant %d named %v", i, m["name"])
		}
		for _, k := range []string{"served", "served_incident", "shed"} {
			if v := m[k].(float64); v < 0 || v > 1 {
				t.Errorf("%s = %v, want a share", k, v)
			}
		}
		if m["wasted"] != math.Trunc(m["wasted"].(float64)) || m["checks"].(float64) != float64(len(sc.Checks)+1) {
			t.Errorf("counts %v", m)
		}
	}
}

// TestContestantNames: the names scorecards and tools rely on.
func TestContestantNames(t *testing.T) {
	var got []string
	for _, c := range Contestants() {
		got = append(got, c.Name)
	}
	want := []string{"none", "atrion", "atrion+sat", "gobreaker", "failsafe-breaker", "failsafe-limiter", "aegis-sre", "aegis-bbr"}
	if !slices.Equal(got, want) {
		t.Fatalf("contestants %v, want %v", got, want)
	}
}

// TestDominatedBy: a contestant dominates Atrion when it serves more by
// more than half a point and wastes fewer calls.
func TestDominatedBy(t *testing.T) {
	sc := Scenario{Name: "d"}
	b := NewBoard(1, []Scenario{sc}, []Contestant{None, Atrion, Gobreaker, FailsafeLimiter, AegisSRE})
	add := func(name string, served float64, wasted int) {
		b.Add(&Result{Scenario: "d", Contestant: name, Score: Scorecard{Success: served, WastedCalls: wasted}})
	}
	add("atrion", 0.50, 100)
	add("none", 0.60, 1000)           // serves more, wastes more
	add("gobreaker", 0.504, 10)       // within the margin
	add("failsafe-limiter", 0.70, 99) // dominates
	add("aegis-sre", 0.40, 0)         // serves less
	if got := b.DominatedBy(sc); !reflect.DeepEqual(got, []string{"failsafe-limiter"}) {
		t.Fatalf("dominated by %v", got)
	}
}

// TestProcessorSharing: calls on a service's cores share them, and a
// call's end moves when others start or end. On one core, a call of 10 ms
// runs alone for 5 ms; a second of 10 ms then halves its pace, so the
// first ends at 15 ms and the second, alone again, at 20 ms.
func TestProcessorSharing(t *testing.T) {
	w := &world{calls: make([]call, 2)}
	sv := &svcState{Service: Service{Cores: 1}}
	w.calls[0].work = 10 * int64(ms)
	w.shareCPU(sv, 0, true)
	w.now = 5 * int64(ms)
	w.calls[1].work = 10 * int64(ms)
	w.shareCPU(sv, 1, true)
	var ends []int64
	for {
		e, ok := w.q.pop()
		if !ok {
			break
		}
		if e.kind != evWork || e.gen != w.calls[e.id].workGen {
			continue // an end the other call's start or end moved
		}
		w.now = e.at
		ends = append(ends, e.at)
		w.shareCPU(sv, e.id, false)
	}
	if len(ends) != 2 || ends[0] != 15*int64(ms) || ends[1] != 20*int64(ms) {
		t.Errorf("work ended at %v, want [15ms 20ms]", ends)
	}
}
