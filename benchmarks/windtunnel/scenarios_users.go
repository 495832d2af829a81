package windtunnel

import (
	"fmt"
	"strings"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// This file holds the scenarios users meet that the reference lacks: a
// slow dependency starving a shared pool, a sudden 10× overload, a partial
// outage, a hang past the client's timeout, low-volume routes, CPU
// contention, impatient clients with deadline propagation, and three nodes
// sharing state. Their checks say what a good guard achieves.

// shedAtMost: the routes' calls in w are shed at most limit (no false
// trip).
func shedAtMost(what string, routes []string, w Window, limit float64) Check {
	return Check{Name: fmt.Sprintf("%s: calls shed ≤ %.0f%% (%v–%v)", what, 100*limit, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			var c Counts
			for _, r := range routes {
				c.add(a.Route(r, w))
			}
			return pct(c.ShedShare()), c.ShedShare() <= limit
		}}
}

// shedAtLeast: the routes' calls in w are shed at least share.
func shedAtLeast(what string, routes []string, w Window, share float64) Check {
	return Check{Name: fmt.Sprintf("%s: calls shed ≥ %.0f%% (%v–%v)", what, 100*share, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			var c Counts
			for _, r := range routes {
				c.add(a.Route(r, w))
			}
			return pct(c.ShedShare()), c.ShedShare() >= share
		}}
}

// servesPerSecond: legit requests served per second in w reach rate.
func servesPerSecond(rate float64, w Window, why string) Check {
	return Check{Name: fmt.Sprintf("serves ≥ %.0f requests/s (%s) (%v–%v)", rate, why, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			rps := float64(servedIn(a, w)) / (w.To - w.From).Seconds()
			return fmt.Sprintf("%.0f/s", rps), rps >= rate
		}}
}

// 20. A slow dependency, with no errors, holds the workers of a pool it
// shares with a healthy route.
func sharedPool() Scenario {
	return Scenario{
		Name: "shared-pool", Title: "Slow dependency, shared pool", Kind: Fault,
		About:    "An API's 40 workers serve /fast (10 ms, 300 rps) and /report (50 rps), which waits on a reports database. For 30 s the database slows from 50 ms to 2 s, with no errors: /report's calls hold the API's workers and, unguarded, starve /fast. A good guard sheds the slow route and keeps the healthy one served.",
		Duration: 80 * sec, Incident: span(20, 50), Watch: "GET /report",
		Services: []Service{
			{Name: "api", Capacity: 40, Health: Const(Healthy(10 * ms))},
			{Name: "reports-db", Capacity: 20, Health: Phases(Healthy(50*ms), Phase{span(20, 50), Const(Healthy(2 * sec))})},
		},
		Routes: []Route{
			{ID: "GET /fast", Service: "api", Timeout: sec},
			{ID: "GET /report", Service: "api", Timeout: 3 * sec, Calls: []string{"db:report"}, Cost: 0.5},
			{ID: "db:report", Service: "reports-db", Timeout: 2500 * ms},
		},
		Traffic: []Traffic{
			openLoop("fast", Flat(300), "GET /fast"),
			openLoop("report", Flat(50), "GET /report"),
		},
		Checks: []Check{
			classSuccess("fast", span(0, 20), 0.99),
			classSuccess("fast", span(23, 50), 0.95),
			recoversWithin(15 * sec),
		},
	}
}

// 21. A sudden 10× overload.
func sudden10x() Scenario {
	mix := []Share{{atrion.PriorityCritical, 0.1}, {atrion.PriorityNormal, 0.9}}
	return Scenario{
		Name: "sudden-10x", Title: "Sudden 10× overload", Kind: Overload,
		About:    "A service that serves 200 rps (10 workers × 50 ms; it answers 503 beyond 250 queued calls) runs at 100 rps, then gets 2,000 rps — ten times its capacity — for 20 s. 10 % of calls are critical. Unguarded, every call waits past its 1 s timeout. A good guard keeps it serving near capacity, critical calls first, and is back to full service as soon as the surge ends.",
		Duration: 70 * sec, Incident: span(20, 40), Watch: "GET /api",
		Services: []Service{{Name: "api", Capacity: 10, Queue: 250, Health: Const(Healthy(50 * ms))}},
		Routes:   []Route{{ID: "GET /api", Service: "api", Timeout: sec}},
		Traffic:  []Traffic{{Class: "users", Legit: true, Routes: []string{"GET /api"}, Rate: Steps([]time.Duration{0, 20 * sec, 40 * sec}, []float64{100, 2000, 100}), Mix: mix}},
		Checks: []Check{
			servesPerSecond(160, span(21, 40), "80% of capacity"),
			prioritySuccess(atrion.PriorityCritical, span(21, 40), 0.95),
			recoversWithin(2 * sec),
		},
	}
}

// 22. A partial outage: one of four replicas down.
func partialOutage() Scenario {
	oneDown := Healthy(40 * ms)
	oneDown.DownShare, oneDown.CapacityFactor = 0.25, 0.75
	return Scenario{
		Name: "partial-outage", Title: "Partial outage (1 of 4 replicas down)", Kind: Fault,
		About:    "A route load-balanced over four replicas loses one for 30 s: a quarter of its calls fail fast, the rest are served as usual; users retry a failure once. The whole route must not open: shedding it would turn a 6 % loss (after retries) into an outage.",
		Duration: 80 * sec, Incident: span(20, 50), Watch: "GET /api",
		Services: []Service{{Name: "api", Capacity: 40, Health: Phases(Healthy(40*ms), Phase{span(20, 50), Const(oneDown)})}},
		Routes:   []Route{{ID: "GET /api", Service: "api", Timeout: sec}},
		Traffic: []Traffic{{Class: "users", Legit: true, Routes: []string{"GET /api"}, Rate: Flat(200),
			Retry: Retry{Max: 1, Backoff: 50 * ms, Jitter: true}}},
		Checks: []Check{
			shedAtMost("the route", []string{"GET /api"}, span(20, 50), 0.05),
			servedAtLeastNone(span(20, 50), 0.97),
		},
	}
}

// 23. A dependency that hangs past the client's timeout.
func hang() Scenario {
	hung := Healthy(10 * sec)
	hung.Jitter = 0
	return Scenario{
		Name: "hang", Title: "Hang past the client's timeout", Kind: Fault,
		About:    "A recommendations service stops answering for 30 s: every call takes 10 s, past the client's 1 s timeout, so every caller gives up and nothing ever fails. The page falls back to a static list (5 ms) when the call fails or is shed. A good guard sees the hang through its callers' abandoned requests, sheds within 3 s, and comes back when the service does.",
		Duration: 90 * sec, Incident: span(20, 50), Watch: "GET /recs",
		Services: []Service{
			{Name: "recs", Capacity: 30, Health: Phases(Healthy(30*ms), Phase{span(20, 50), Const(hung)})},
			{Name: "static", Capacity: 50, Health: Const(Healthy(5 * ms))},
		},
		Routes: []Route{
			{ID: "GET /recs", Service: "recs", Timeout: sec},
			{ID: "GET /recs:static", Service: "static", Timeout: sec},
		},
		Traffic: []Traffic{{Class: "pages", Legit: true, Routes: []string{"GET /recs"}, Fallback: "GET /recs:static", Rate: Flat(100)}},
		Checks: []Check{
			tripsWithin(3 * sec),
			wastesAtMost(0.2),
			recoversWithin(20 * sec),
		},
	}
}

// 24. Low-volume routes with occasional errors.
func lowVolume() Scenario {
	s := Scenario{
		Name: "low-volume", Title: "Low-volume routes", Kind: Fault,
		About:    "Five routes see 1 to 5 calls/s each, with 2 % background errors: at such volumes one error is a large share of a tick. The 5 calls/s route's backend then goes down for 30 s. A good guard never trips the quiet routes on occasional errors, and still trips the dead one.",
		Duration: 150 * sec, Incident: span(60, 90), Watch: "GET /r5",
		Services: []Service{
			{Name: "api", Capacity: 20, Health: Const(Health{Latency: 30 * ms, Jitter: 0.3, ErrorRate: 0.02})},
			{Name: "r5-backend", Capacity: 20, Health: Phases(Health{Latency: 30 * ms, Jitter: 0.3, ErrorRate: 0.02}, Phase{span(60, 90), Const(Health{Down: true})})},
		},
	}
	var quiet []string
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("GET /r%d", i)
		svc := "api"
		if i == 5 {
			svc = "r5-backend"
		} else {
			quiet = append(quiet, id)
		}
		s.Routes = append(s.Routes, Route{ID: id, Service: svc, Timeout: sec})
		s.Traffic = append(s.Traffic, openLoop(fmt.Sprintf("r%d", i), Flat(float64(i)), id))
	}
	s.Checks = []Check{
		shedAtMost("the four quiet routes", quiet, s.All(), 0.01),
		shedAtMost("the 5 calls/s route while healthy", []string{"GET /r5"}, span(0, 60), 0.01),
		tripsWithin(10 * sec),
		recoversWithin(30 * sec),
	}
	return s
}

// All is the whole run of the scenario.
func (sc Scenario) All() Window { return Window{0, sc.Duration} }

// 25. Latency that rises with concurrency before saturation.
func cpuContention() Scenario {
	return Scenario{
		Name: "cpu-contention", Title: "CPU contention", Kind: Overload,
		About:    "A CPU-bound service: 10 ms of CPU per call on 4 cores, 32 workers, so it serves 400 rps at best and, past 4 concurrent calls, every call slows down (8 at once: twice the latency) long before the workers run out. Load ramps from 150 to 800 rps over 40 s, holds 20 s, and drops back. A good guard keeps concurrency near the cores: latency low, throughput at capacity.",
		Duration: 100 * sec, Incident: span(20, 80), Watch: "POST /render",
		Services: []Service{{Name: "render", Capacity: 32, Cores: 4, Health: Const(Healthy(10 * ms))}},
		Routes:   []Route{{ID: "POST /render", Service: "render", Timeout: 250 * ms}},
		Traffic:  []Traffic{openLoop("users", Linear([]time.Duration{0, 20 * sec, 60 * sec, 80 * sec, 80*sec + 1}, []float64{150, 150, 800, 800, 150}), "POST /render")},
		Checks: []Check{
			servesPerSecond(320, span(60, 80), "80% of the CPU's capacity"),
			servedAtLeastNone(span(40, 80), 1.2),
			recoversWithin(5 * sec),
		},
	}
}

// 26. Impatient clients, and a gateway that propagates deadlines.
func cancellations() Scenario {
	return Scenario{
		Name: "cancellations", Title: "Client cancellations and deadline propagation", Kind: Fault,
		About:    "Users of a search page give up after an exponential patience of mean 1.2 s (about 5 % cancel before a healthy answer). The gateway and the index it calls are deadline-aware: a cancelled or timed-out request is dropped from their queues and its downstream call cancelled. For 20 s the index slows from 40 ms to 800 ms, far below its load. A good guard does not take quick cancellations for errors, and sheds the slowed index instead of letting its queue fill with abandoned work.",
		Duration: 80 * sec, Incident: span(30, 50), Watch: "index:/query",
		Services: []Service{
			{Name: "gateway", Capacity: 40, DeadlineAware: true, Health: Const(Healthy(5 * ms))},
			{Name: "index", Capacity: 20, DeadlineAware: true, Health: Phases(Healthy(40*ms), Phase{span(30, 50), Const(Healthy(800 * ms))})},
		},
		Routes: []Route{
			{ID: "GET /search", Service: "gateway", Timeout: 1500 * ms, Calls: []string{"index:/query"}},
			{ID: "index:/query", Service: "index", Timeout: sec},
		},
		Traffic: []Traffic{{Class: "users", Legit: true, Routes: []string{"GET /search"}, Rate: Flat(200), Patience: 1200 * ms}},
		Checks: []Check{
			quietBefore(span(0, 30), 0.01),
			servedAtLeastNone(span(30, 50), 1.0),
			wastesAtMost(0.8),
			recoversWithin(10 * sec),
		},
	}
}

// 27. Three nodes share their state, under uneven traffic.
func cluster() Scenario {
	s := Scenario{
		Name: "cluster", Title: "Three nodes sharing state", Kind: Fault, SharedState: true,
		About:    "Three replicas of a service call one database, each guarding its own calls; traffic is uneven (300, 120 and 20 rps). The database fails 80 % of its calls for 30 s. Atrion's three nodes share one state provider (WithNodeID per node, WithResync 1 s); peers run three independent instances. A good guard sheds on every node — the quiet one too — and every node comes back.",
		Duration: 90 * sec, Incident: span(20, 50), Watch: "node-3 → db",
		Services: []Service{
			{Name: "node-1", Capacity: 50, Health: Const(Healthy(ms))},
			{Name: "node-2", Capacity: 50, Health: Const(Healthy(ms))},
			{Name: "node-3", Capacity: 50, Health: Const(Healthy(ms))},
			{Name: "db", Capacity: 60, Health: Phases(Healthy(20*ms), Phase{span(20, 50), Const(Health{Latency: 20 * ms, Jitter: 0.3, ErrorRate: 0.8})})},
		},
	}
	var routes []string
	for i, rate := range []float64{300, 120, 20} {
		node := fmt.Sprintf("node-%d", i+1)
		id := node + " → db"
		routes = append(routes, id)
		s.Routes = append(s.Routes, Route{ID: id, Service: "db", Node: node, Key: "db:/query", Timeout: sec})
		s.Traffic = append(s.Traffic, openLoop(node, Flat(rate), id))
	}
	s.Checks = []Check{
		shedAtLeast("every node", routes, span(23, 50), 0.7),
		shedAtLeast("the quiet node", routes[2:], span(23, 50), 0.7),
		recoversWithin(30 * sec),
	}
	return s
}

// deadlineAware is sc with every service deadline-aware: the other common
// server model, under which abandoned queued work is dropped instead of
// done (see Service).
func deadlineAware(sc Scenario) Scenario {
	sc.Name += "-deadline"
	sc.Title += " (deadline-aware services)"
	sc.About = strings.TrimSuffix(sc.About, ".") + ". Here every service is deadline-aware: it drops queued calls whose caller has gone."
	svcs := make([]Service, len(sc.Services))
	for i, s := range sc.Services {
		s.DeadlineAware = true
		svcs[i] = s
	}
	sc.Services = svcs
	return sc
}
