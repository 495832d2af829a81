package windtunnel

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fingerprint is everything a run produced that must repeat with its seed.
func fingerprint(r *Result) string {
	return fmt.Sprintf("%+v|%v|%v|%v|%d", r.Score, r.RouteBins, r.ClassBins, r.Probes, r.Transitions)
}

// TestDeterministic: the same seed gives the same numbers — for Atrion on
// its manual clock, for peers in their bubble, for Atrion's three nodes
// sharing state in the background, and under both service models; another
// seed does not.
func TestDeterministic(t *testing.T) {
	for _, run := range []struct {
		scenario string
		c        Contestant
	}{
		{"chaos", Atrion}, {"chaos", Gobreaker}, {"chaos", AegisSRE},
		{"cluster", Atrion}, {"cancellations", AtrionSat}, {"cpu-contention-deadline", FailsafeLimiter}, {"shared-pool", AegisBBR},
	} {
		t.Run(run.scenario+"/"+run.c.Name, func(t *testing.T) {
			sc, _ := ScenarioByName(run.scenario)
			a, b := Run(t, sc, run.c, 7), Run(t, sc, run.c, 7)
			if fingerprint(a) != fingerprint(b) {
				t.Fatalf("two runs with seed 7 differ:\n%+v\n%+v", a.Score, b.Score)
			}
			if o := Run(t, sc, run.c, 8); reflect.DeepEqual(a.RouteBins, o.RouteBins) {
				t.Fatal("seeds 7 and 8 gave the same traffic")
			}
		})
	}
}

// TestOfferedTrafficIsIdentical: open-loop arrivals do not depend on the
// guard (nor on the retries and cancellations it causes), so every
// contestant faces the same requests.
func TestOfferedTrafficIsIdentical(t *testing.T) {
	for _, name := range []string{"fintech", "cancellations", "security"} {
		sc, _ := ScenarioByName(name)
		a, n := Run(t, sc, Atrion, 3), Run(t, sc, None, 3)
		for _, class := range a.Classes {
			if x, y := a.Class(class, a.All()).Offered, n.Class(class, n.All()).Offered; x != y {
				t.Errorf("%s %s: offered %d to atrion, %d to none", name, class, x, y)
			}
		}
	}
}

// TestSimulateNeedsBubble: a peer reads the wall clock; outside a synctest
// bubble Simulate refuses to run it instead of running it on real time.
func TestSimulateNeedsBubble(t *testing.T) {
	sc, _ := ScenarioByName("cb-recovery")
	_, err := Simulate(sc, Gobreaker, 1)
	if err == nil || !strings.Contains(err.Error(), "bubble") {
		t.Fatalf("err = %v, want a bubble error", err)
	}
}

// TestPeersRunOnSimulatedTime: the breakers' 5 s open delay elapses in
// simulated time — their first probe after opening comes 5 s later.
func TestPeersRunOnSimulatedTime(t *testing.T) {
	sc, _ := ScenarioByName("cb-recovery")
	for _, c := range []Contestant{Gobreaker, FailsafeBreaker} {
		t.Run(c.Name, func(t *testing.T) {
			r := Run(t, sc, c, 1)
			series := r.RouteSeries(r.Watch)
			open := r.First(series, r.All(), Sheds(1))
			if open < 0 {
				t.Fatal("never opened")
			}
			probe := r.First(series, Window{open, r.Duration}, func(c Counts) bool { return c.Admitted() > 0 })
			if d := probe - open; probe < 0 || d < 4900*time.Millisecond || d > 5200*time.Millisecond {
				t.Fatalf("first probe %v after opening, want its 5 s delay", d)
			}
		})
	}
}

// TestLimitersShed: the limiters act on the overload they are built for:
// failsafe-go's adaptive limiter on latency, BBR on the simulated CPU.
func TestLimitersShed(t *testing.T) {
	sc, _ := ScenarioByName("game-lod")
	for _, c := range []Contestant{FailsafeLimiter, AegisBBR, AegisSRE} {
		t.Run(c.Name, func(t *testing.T) {
			r := Run(t, sc, c, 1)
			if r.Score.Shed <= 0.05 {
				t.Fatalf("shed %.3f of the calls of a 2× overload", r.Score.Shed)
			}
			if h := r.Entry(span(0, 20)).ShedShare(); h > 0.01 {
				t.Fatalf("shed %.3f while healthy", h)
			}
		})
	}
}

// TestScenarioValidation: a broken scenario is an error that says what is
// wrong, never a panic or a hang.
func TestScenarioValidation(t *testing.T) {
	good := func() Scenario {
		return Scenario{
			Name: "v", Kind: Fault, Duration: 2 * sec, Watch: "r",
			Services: []Service{{Name: "s", Capacity: 1, Health: Const(Healthy(ms))}},
			Routes:   []Route{{ID: "r", Service: "s", Timeout: sec}},
			Traffic:  []Traffic{openLoop("c", Flat(10), "r")},
		}
	}
	if _, err := Simulate(good(), Atrion, 1); err != nil {
		t.Fatalf("valid scenario: %v", err)
	}
	cases := []struct {
		name, want string
		break_     func(*Scenario)
	}{
		{"no name", "without a name", func(s *Scenario) { s.Name = "" }},
		{"zero duration", "duration", func(s *Scenario) { s.Duration = 0 }},
		{"negative duration", "duration", func(s *Scenario) { s.Duration = -sec }},
		{"no health", "health", func(s *Scenario) { s.Services[0].Health = nil }},
		{"negative queue", "queue", func(s *Scenario) { s.Services[0].Queue = -1 }},
		{"unknown service", "known service", func(s *Scenario) { s.Routes[0].Service = "x" }},
		{"duplicate route", "unique", func(s *Scenario) { s.Routes = append(s.Routes, s.Routes[0]) }},
		{"unknown callee", "unknown route", func(s *Scenario) { s.Routes[0].Calls = []string{"x"} }},
		{"call cycle", "cycle", func(s *Scenario) { s.Routes[0].Calls = []string{"r"} }},
		{"unknown watch", "watched", func(s *Scenario) { s.Watch = "x" }},
		{"unknown entry", "unknown route", func(s *Scenario) { s.Traffic[0].Routes = []string{"x"} }},
		{"no entry", "entry routes", func(s *Scenario) { s.Traffic[0].Routes = nil }},
		{"unknown fallback", "fallback", func(s *Scenario) { s.Traffic[0].Fallback = "x" }},
		{"rate and clients", "either", func(s *Scenario) { s.Traffic[0].Clients = 3 }},
		{"clients, no think", "either", func(s *Scenario) { s.Traffic[0].Rate, s.Traffic[0].Clients = nil, 3 }},
		{"negative retries", "retry", func(s *Scenario) { s.Traffic[0].Retry.Max = -1 }},
		{"negative patience", "patience", func(s *Scenario) { s.Traffic[0].Patience = -1 }},
		{"no kind", "kind", func(s *Scenario) { s.Kind = "" }},
		{"unknown node", "node", func(s *Scenario) { s.Routes[0].Node = "x" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.break_(&s)
			_, err := Simulate(s, Atrion, 1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestEventQueueOrder: events leave by time, then in scheduling order.
func TestEventQueueOrder(t *testing.T) {
	var q eventQueue
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		q.push(event{at: rng.Int64N(50), seq: uint64(i)})
	}
	prev := event{at: -1}
	for len(q) > 0 {
		e := q.pop()
		if e.before(prev) {
			t.Fatalf("%+v left after %+v", e, prev)
		}
		prev = e
	}
}

func TestRetryDelay(t *testing.T) {
	r := Retry{Backoff: 100 * ms, MaxBackoff: 350 * ms}
	for n, want := range []time.Duration{100 * ms, 200 * ms, 350 * ms, 350 * ms} {
		if got := r.delay(n+1, 0.5); got != want {
			t.Errorf("retry %d: %v, want %v", n+1, got, want)
		}
	}
	r.Jitter = true
	if got := r.delay(2, 0.5); got != 100*ms {
		t.Errorf("jittered: %v, want half of 200ms", got)
	}
}

func TestRates(t *testing.T) {
	steps := Steps([]time.Duration{0, 10 * sec}, []float64{5, 50})
	lin := Linear([]time.Duration{10 * sec, 20 * sec}, []float64{100, 200})
	for _, c := range []struct {
		t          time.Duration
		step, line float64
	}{{0, 5, 100}, {9 * sec, 5, 100}, {10 * sec, 50, 100}, {15 * sec, 50, 150}, {30 * sec, 50, 200}} {
		if got := steps(c.t); got != c.step {
			t.Errorf("Steps(%v) = %v, want %v", c.t, got, c.step)
		}
		if got := lin(c.t); got != c.line {
			t.Errorf("Linear(%v) = %v, want %v", c.t, got, c.line)
		}
	}
	if Linear(nil, nil)(sec) != 0 {
		t.Error("Linear without points must be 0")
	}
}

// TestFallbackAndRetry: a user request that fails on its route tries the
// fallback, then retries; the counts add up.
func TestFallbackAndRetry(t *testing.T) {
	sc := Scenario{
		Name: "fallback", Kind: Fault, Duration: 10 * sec, Watch: "main",
		Services: []Service{
			{Name: "down", Capacity: 5, Health: Const(Health{Down: true})},
			{Name: "up", Capacity: 5, Health: Const(Healthy(10 * ms))},
		},
		Routes: []Route{{ID: "main", Service: "down", Timeout: sec}, {ID: "backup", Service: "up", Timeout: sec}},
		Traffic: []Traffic{
			{Class: "fb", Legit: true, Routes: []string{"main"}, Fallback: "backup", Rate: Flat(20)},
			{Class: "retry", Legit: true, Routes: []string{"main"}, Rate: Flat(20), Retry: Retry{Max: 2, Backoff: 10 * ms}},
		},
	}
	r, err := Simulate(sc, None, 1)
	if err != nil {
		t.Fatal(err)
	}
	fb, rt := r.Class("fb", r.All()), r.Class("retry", r.All())
	if fb.Served == 0 || fb.Failed != 0 {
		t.Errorf("fallback class: %+v, want every ended request served by the fallback", fb)
	}
	if rt.Served != 0 || rt.Failed == 0 {
		t.Errorf("retry class: %+v, want every ended request failed", rt)
	}
	// three attempts (two retries) per failed retry-class request
	if main := r.Route("main", r.All()); int(main.Attempts) < int(fb.Served)+3*int(rt.Failed) {
		t.Errorf("main saw %d calls, want ≥ %d", main.Attempts, int(fb.Served)+3*int(rt.Failed))
	}
}

// TestCascadeHoldsWorkers: a caller's worker is held while it waits for
// its downstream call, so a slow C fills A's queue (the domino).
func TestCascadeHoldsWorkers(t *testing.T) {
	sc, _ := ScenarioByName("domino")
	r := Run(t, sc, None, 1)
	if s := r.Class("home", span(22, 50)).SuccessShare(); s > 0.9 {
		t.Fatalf("/home served %.2f during C's hang without protection; the cascade should reach it", s)
	}
	if s := r.Class("home", span(0, 20)).SuccessShare(); s < 0.99 {
		t.Fatalf("/home served %.2f while healthy", s)
	}
}
