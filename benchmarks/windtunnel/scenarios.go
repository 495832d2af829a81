package windtunnel

import (
	"fmt"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// This file holds the reference's thirteen scenarios (SPEC §8), rebuilt
// as simulations with pass criteria. scenarios_extra.go holds the rest.

const (
	ms  = time.Millisecond
	sec = time.Second
)

// Scenarios returns every scenario: the reference's thirteen; flapping
// (sine, alternating, noise), boiling frog, thundering herd and retry
// storm; the scenarios users meet of scenarios_users.go; the scenarios of
// shared capacity of scenarios_shares.go; then every
// overload scenario again with deadline-aware services, so that both
// service models are scored (the default one, where abandoned work is
// still done, favours limiters that keep queues short).
func Scenarios() []Scenario {
	scs := []Scenario{
		chaos(), fintech(), flashCrowd(), security(), securityCluster(), llmRouter(), gameLOD(), gameLODv2(),
		cbRecovery(), predictiveLOD(), blackFriday(), iotDam(), domino(), autoTuner(),
		flapSine(), flapAlternating(), flapNoise(), boilingFrog(), thunderingHerd(), retryStorm(),
		sharedPool(), sudden10x(), partialOutage(), hang(), lowVolume(), cpuContention(), cancellations(), cluster(),
		mixedDeadlines(),
	}
	scs = append(scs, shareScenarios()...)
	for _, sc := range scs {
		if sc.Kind == Overload && !allDeadlineAware(sc) {
			scs = append(scs, deadlineAware(sc))
		}
	}
	return scs
}

// span is a Window in seconds.
func span(from, to float64) Window {
	return Window{time.Duration(from * float64(sec)), time.Duration(to * float64(sec))}
}

// Criteria helpers. Each returns a Check on Atrion's result.

func tripsWithin(d time.Duration) Check {
	return Check{Name: fmt.Sprintf("trips (sheds ≥ half of the watched route) within %v of the incident", d),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			t := a.Score.TimeToTrip
			return fmtDur(t), t >= 0 && t <= d
		}}
}

func recoversWithin(d time.Duration) Check {
	return Check{Name: fmt.Sprintf("recovers (5 s at ≤ 5%% shed) within %v of the incident's end, not latched", d),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			t := a.Score.TimeToRecover
			return fmtDur(t) + latchNote(a), t >= 0 && t <= d && !a.Score.Latched
		}}
}

func latchNote(r *Result) string {
	if r.Score.Latched {
		return " (latched)"
	}
	return ""
}

func quietBefore(w Window, maxShed float64) Check {
	return Check{Name: fmt.Sprintf("sheds at most %.1f%% of the users' calls while healthy (%v–%v)", 100*maxShed, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			s := a.Entry(w).ShedShare()
			return pct(s), s <= maxShed
		}}
}

func wastesAtMost(share float64) Check {
	return Check{Name: fmt.Sprintf("wasted calls (admitted, then failed) at most %.0f%% of none's", 100*share),
		Eval: func(a *Result, o map[string]*Result) (string, bool) {
			n := o[None.Name].Score.WastedCalls
			return fmt.Sprintf("%d vs none %d", a.Score.WastedCalls, n), float64(a.Score.WastedCalls) <= share*float64(n)
		}}
}

func classSuccess(class string, w Window, min float64) Check {
	return Check{Name: fmt.Sprintf("%q requests served ≥ %.1f%% (%v–%v)", class, 100*min, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			s := a.Class(class, w).SuccessShare()
			return pct(s), s >= min
		}}
}

func servedAtLeastNone(w Window, factor float64) Check {
	return Check{Name: fmt.Sprintf("serves ≥ %.2f× the users' requests none serves (%v–%v)", factor, w.From, w.To),
		Eval: func(a *Result, o map[string]*Result) (string, bool) {
			x, y := servedIn(a, w), servedIn(o[None.Name], w)
			return fmt.Sprintf("%d vs none %d", x, y), float64(x) >= factor*float64(y)
		}}
}

// servedIn counts legit user requests served in w.
func servedIn(r *Result, w Window) int { return int(r.legitUsers(w).Served) }

func priorityOrdered(w Window) Check {
	return Check{Name: fmt.Sprintf("sheds lower priorities first: shed(bulk) ≥ shed(low) ≥ shed(normal) ≥ shed(high) ≥ shed(critical) (%v–%v)", w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			ps := []atrion.Priority{atrion.PriorityBulk, atrion.PriorityLow, atrion.PriorityNormal, atrion.PriorityHigh, atrion.PriorityCritical}
			seen, ok, prev := "", true, 1.0
			for _, p := range ps {
				c := a.Priority(p, w)
				if c.Attempts == 0 {
					continue
				}
				s := c.ShedShare()
				seen += fmt.Sprintf("%s %s ", p, pct(s))
				if s > prev+0.005 {
					ok = false
				}
				prev = s
			}
			return seen, ok
		}}
}

func prioritySuccess(p atrion.Priority, w Window, min float64) Check {
	return Check{Name: fmt.Sprintf("%s calls succeed ≥ %.0f%% (%v–%v)", p, 100*min, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			s := a.Priority(p, w).SuccessShare()
			return pct(s), s >= min
		}}
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * ms).String()
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func openLoop(class string, rate func(time.Duration) float64, routes ...string) Traffic {
	return Traffic{Class: class, Legit: true, Routes: routes, Rate: rate}
}

// userRetry is how clients commonly retry a failed request: twice, after
// a jittered exponential backoff from 100 ms. A guard's rejection is
// retried too: to the client it is a 503, which retrying clients retry.
var userRetry = Retry{Max: 2, Backoff: 100 * ms, MaxBackoff: sec, Jitter: true, OnReject: true}

// retrying is open-loop traffic whose users retry failures (userRetry).
func retrying(class string, rate func(time.Duration) float64, routes ...string) Traffic {
	t := openLoop(class, rate, routes...)
	t.Retry = userRetry
	return t
}

// 1. Chaos: a dependency turns erratic — 40 % errors and 30 % latency
// spikes of 1–3.5 s — for 30 s.
func chaos() Scenario {
	bad := Health{Latency: 50 * ms, Jitter: 0.3, ErrorRate: 0.4, SpikeRate: 0.3, SpikeMin: sec, SpikeMax: 3500 * ms}
	return Scenario{
		Name: "chaos", Title: "Chaos", Kind: Fault,
		About:    "A dependency turns erratic for 30 s: 40 % errors and 30 % latency spikes of 1–3.5 s (the reference's aggressive chaos server). A guard should stop feeding it and come back when it heals.",
		Duration: 90 * sec, Incident: span(20, 50), Watch: "GET /target",
		Services: []Service{{Name: "chaos", Capacity: 50, Health: Phases(Healthy(50*ms), Phase{span(20, 50), Const(bad)})}},
		Routes:   []Route{{ID: "GET /target", Service: "chaos", Timeout: 2 * sec}},
		Traffic:  []Traffic{openLoop("users", Flat(100), "GET /target")},
		Checks: []Check{
			quietBefore(span(0, 20), 0.01),
			tripsWithin(3 * sec),
			wastesAtMost(0.3),
			recoversWithin(30 * sec),
		},
	}
}

// 2. Fintech route isolation: one of three routes fails; the others must
// not notice.
func fintech() Scenario {
	down := Health{Down: true}
	return Scenario{
		Name: "fintech", Title: "Fintech route isolation", Kind: Fault,
		About:    "Three routes on three backends; the payments backend (provisioned at twice its load) is down for 30 s and users retry a failed or shed transfer twice. The transfer route must trip alone: balance and history keep flowing.",
		Duration: 80 * sec, Incident: span(20, 50), Watch: "POST /transfer",
		Services: []Service{
			{Name: "payments", Capacity: 16, Health: Phases(Healthy(80*ms), Phase{span(20, 50), Const(down)})},
			{Name: "ledger", Capacity: 50, Health: Const(Healthy(30 * ms))},
			{Name: "archive", Capacity: 50, Health: Const(Healthy(60 * ms))},
		},
		Routes: []Route{
			{ID: "POST /transfer", Service: "payments", Timeout: sec},
			{ID: "GET /balance", Service: "ledger", Timeout: sec},
			{ID: "GET /history", Service: "archive", Timeout: sec},
		},
		Traffic: []Traffic{
			retrying("transfer", Flat(100), "POST /transfer"),
			openLoop("balance", Flat(100), "GET /balance"),
			openLoop("history", Flat(100), "GET /history"),
		},
		Checks: []Check{
			classSuccess("balance", span(0, 80), 0.995),
			classSuccess("history", span(0, 80), 0.995),
			tripsWithin(2 * sec),
			recoversWithin(30 * sec),
		},
	}
}

// 3. Flash Crowd: traffic jumps to about twice the service's capacity for
// 20 s, with no errors other than what overload causes.
func flashCrowd() Scenario {
	return Scenario{
		Name: "flash-crowd", Title: "Flash Crowd", Kind: Overload,
		About:    "Traffic jumps from 300 to 1,500 rps for 20 s on a service that serves about 800 rps at full speed; overload shows only as latency and, past the client timeout, as timeouts.",
		Duration: 80 * sec, Incident: span(20, 40), Watch: "GET /feed",
		Services: []Service{{Name: "feed", Capacity: 40, Queue: 2000, Health: Const(Healthy(50 * ms))}},
		Routes:   []Route{{ID: "GET /feed", Service: "feed", Timeout: sec}},
		Traffic:  []Traffic{openLoop("users", Steps([]time.Duration{0, 20 * sec, 40 * sec}, []float64{300, 1500, 300}), "GET /feed")},
		Checks: []Check{
			servedAtLeastNone(span(20, 40), 1.5),
			{Name: "serves ≥ 50% of capacity (400 rps) during the crowd",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					rps := float64(servedIn(a, span(20, 40))) / 20
					return fmt.Sprintf("%.0f rps", rps), rps >= 400
				}},
			recoversWithin(10 * sec),
		},
	}
}

// 4. Security / tarpit with per-client keys: three bots flood a shared
// API with malformed, expensive requests.
func security() Scenario {
	s := Scenario{
		Name: "security", Title: "Security (per-client keys)", Kind: Mixed,
		About:    "Twenty clients and, for 30 s, three bots share an API; each client key is its own route. The bots' requests are malformed (they fail) and cost twice the work. Guarding per key must cut the bots off and keep the clients served.",
		Duration: 75 * sec, Incident: span(15, 45), Watch: "bot:1",
		Services: []Service{{Name: "api", Capacity: 30, Health: Const(Healthy(50 * ms))}},
	}
	var clients, bots []string
	for i := 1; i <= 20; i++ {
		id := fmt.Sprintf("client:%02d", i)
		clients = append(clients, id)
		s.Routes = append(s.Routes, Route{ID: id, Service: "api", Timeout: sec})
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("bot:%d", i)
		bots = append(bots, id)
		s.Routes = append(s.Routes, Route{ID: id, Service: "api", Timeout: sec, Cost: 2, ErrorRate: 1})
	}
	s.Traffic = []Traffic{
		openLoop("clients", Flat(200), clients...),
		{Class: "bots", Routes: bots, Rate: Steps([]time.Duration{0, 15 * sec, 45 * sec}, []float64{0, 600, 0})},
	}
	s.Checks = securityChecks(bots, clients)
	return s
}

// securityChecks are the security scenarios' pass criteria on their bots'
// and clients' routes.
func securityChecks(bots, clients []string) []Check {
	return []Check{
		{Name: "bots' calls shed ≥ 90% from 3 s into the attack",
			Eval: func(a *Result, _ map[string]*Result) (string, bool) {
				var c Counts
				for _, b := range bots {
					c.add(a.Route(b, span(18, 45)))
				}
				return pct(c.ShedShare()), c.ShedShare() >= 0.9
			}},
		classSuccess("clients", span(0, 75), 0.95),
		{Name: "clients' calls shed ≤ 2%",
			Eval: func(a *Result, _ map[string]*Result) (string, bool) {
				var c Counts
				for _, id := range clients {
					c.add(a.Route(id, a.All()))
				}
				return pct(c.ShedShare()), c.ShedShare() <= 0.02
			}},
	}
}

// 4b. Security on three nodes with rotating bot keys: the same clients and
// bots as security, behind a load balancer that spreads every request over
// three replicas, and each bot switches to a fresh key every 5 s.
func securityCluster() Scenario {
	const nodes, rotate = 3, 5 * sec
	s := Scenario{
		Name: "security-cluster", Title: "Security on three nodes (rotating bot keys)", Kind: Mixed, SharedState: true,
		About:    "The security scenario behind a load balancer: three replicas (10 workers each, 30 in all) serve twenty clients (200 rps) and, for 30 s, three bots (600 rps, malformed requests that fail and cost twice the work); every request goes to any replica, and each bot moves to a fresh key every 5 s. Calls carry their client key: Atrion guards one route per replica and judges keys (AdmitKey), its nodes sharing bans through one provider; breakers keep one instance per client key per replica, limiters one per replica.",
		Duration: 75 * sec, Incident: span(15, 45),
	}
	var clients, bots []string
	var clientRoutes []string
	route := func(node int, client string, bot bool) string {
		n := fmt.Sprintf("node-%d", node)
		id := n + " " + client
		r := Route{ID: id, Service: n, Key: "POST /api", Client: client, Timeout: sec}
		if bot {
			r.Cost, r.ErrorRate = 2, 1
		}
		s.Routes = append(s.Routes, r)
		return id
	}
	for n := 1; n <= nodes; n++ {
		s.Services = append(s.Services, Service{Name: fmt.Sprintf("node-%d", n), Capacity: 10, Health: Const(Healthy(50 * ms))})
	}
	for i := 1; i <= 20; i++ {
		c := fmt.Sprintf("client:%02d", i)
		for n := 1; n <= nodes; n++ {
			id := route(n, c, false)
			clients = append(clients, id)
			clientRoutes = append(clientRoutes, id)
		}
	}
	s.Traffic = []Traffic{openLoop("clients", Flat(200), clientRoutes...)}
	for b := 1; b <= 3; b++ {
		for e, from := 0, s.Incident.From; from < s.Incident.To; e, from = e+1, from+rotate {
			key := fmt.Sprintf("bot:%d/%d", b, e+1)
			var rs []string
			for n := 1; n <= nodes; n++ {
				rs = append(rs, route(n, key, true))
			}
			bots = append(bots, rs...)
			s.Traffic = append(s.Traffic, Traffic{Class: "bots", Routes: rs,
				Rate: Steps([]time.Duration{0, from, min(from+rotate, s.Incident.To)}, []float64{0, 200, 0})})
		}
	}
	s.Watch = bots[0]
	s.Checks = securityChecks(bots, clients)
	return s
}

// 5. LLM router: fail over from a degraded primary model to a fallback,
// by the guard's decision, and come back.
func llmRouter() Scenario {
	degraded := Health{Latency: 4 * sec, Jitter: 0.3, ErrorRate: 0.3}
	return Scenario{
		Name: "llm-router", Title: "LLM Router (failover)", Kind: Fault,
		About:    "Requests go to a primary model (800 ms) unless its guard rejects them or it fails, then to a fallback (200 ms). The primary degrades for 40 s (4 s latency, 30 % overload errors).",
		Duration: 110 * sec, Incident: span(20, 60), Watch: "llm:primary",
		Services: []Service{
			{Name: "primary", Capacity: 20, Health: Phases(Healthy(800*ms), Phase{span(20, 60), Const(degraded)})},
			{Name: "fallback", Capacity: 50, Health: Const(Healthy(200 * ms))},
		},
		Routes: []Route{
			{ID: "llm:primary", Service: "primary", Timeout: 5 * sec},
			{ID: "llm:fallback", Service: "fallback", Timeout: 5 * sec},
		},
		Traffic: []Traffic{{Class: "prompts", Legit: true, Routes: []string{"llm:primary"}, Fallback: "llm:fallback", Rate: Flat(15)}},
		Checks: []Check{
			classSuccess("prompts", span(0, 110), 0.97),
			tripsWithin(8 * sec),
			{Name: "back on the primary (≥ 90% of prompts) 30 s after it heals",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					w := span(90, 110)
					s := ratio(int(a.Route("llm:primary", w).OK), int(a.Class("prompts", w).Offered))
					return pct(s), s >= 0.9
				}},
		},
	}
}

// gameMix is a game server's traffic: state sync is critical, gameplay
// normal, effects low, cosmetics and telemetry bulk.
var gameMix = []Share{
	{atrion.PriorityCritical, 0.2}, {atrion.PriorityNormal, 0.3},
	{atrion.PriorityLow, 0.3}, {atrion.PriorityBulk, 0.2},
}

// 6. Game LOD: load ramps past capacity; degrade softly, cosmetic work
// first.
func gameLOD() Scenario {
	rate := Linear([]time.Duration{0, 20 * sec, 50 * sec, 60 * sec, 80 * sec}, []float64{200, 200, 1000, 1000, 200})
	return Scenario{
		Name: "game-lod", Title: "Game LOD (soft degradation)", Kind: Overload,
		About:    "A game server (20 ms per call, about 500 calls/s at full speed, 100 ms frame budget) sees load ramp to twice its capacity. Priorities mark state sync critical, gameplay normal, effects low, cosmetics bulk: shed cosmetics first, never state sync.",
		Duration: 90 * sec, Incident: span(30, 70), Watch: "game:frame",
		Services: []Service{{Name: "game", Capacity: 10, Health: Const(Healthy(20 * ms))}},
		Routes:   []Route{{ID: "game:frame", Service: "game", Timeout: 100 * ms}},
		Traffic:  []Traffic{{Class: "players", Legit: true, Routes: []string{"game:frame"}, Rate: rate, Mix: gameMix}},
		Checks: []Check{
			prioritySuccess(atrion.PriorityCritical, span(0, 90), 0.95),
			priorityOrdered(span(30, 70)),
			servedAtLeastNone(span(30, 70), 1.2),
		},
	}
}

// 7. Game LOD v2: a sudden step past capacity with budget misses; the
// soft degradation must start at once, not ticks later.
func gameLODv2() Scenario {
	h := Health{Latency: 20 * ms, Jitter: 0.3, SpikeRate: 0.05, SpikeMin: 60 * ms, SpikeMax: 120 * ms}
	return Scenario{
		Name: "game-lod-v2", Title: "Game LOD v2 (budget misses)", Kind: Overload,
		About:    "The same game server, stepping at once to 2.5× capacity for 30 s, with 5 % of frames missing the budget (60–120 ms). Low-priority work must start being shed within 2 s.",
		Duration: 90 * sec, Incident: span(20, 50), Watch: "game:frame",
		Services: []Service{{Name: "game", Capacity: 10, Health: Const(h)}},
		Routes:   []Route{{ID: "game:frame", Service: "game", Timeout: 100 * ms}},
		Traffic:  []Traffic{{Class: "players", Legit: true, Routes: []string{"game:frame"}, Rate: Steps([]time.Duration{0, 20 * sec, 50 * sec}, []float64{200, 1250, 200}), Mix: gameMix}},
		Checks: []Check{
			{Name: "sheds ≥ 10% of bulk calls within 2 s of the step",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					t := a.First(a.PrioritySeries(atrion.PriorityBulk), span(20, 50), Sheds(0.1))
					if t >= 0 {
						t -= 20 * sec
					}
					return fmtDur(t), t >= 0 && t <= 2*sec
				}},
			prioritySuccess(atrion.PriorityCritical, span(20, 50), 0.95),
			priorityOrdered(span(20, 50)),
		},
	}
}

// 8. CB Recovery: a dependency is down for 20 s; the circuit must open,
// then find its way back through half-open.
func cbRecovery() Scenario {
	return Scenario{
		Name: "cb-recovery", Title: "CB Recovery", Kind: Fault,
		About:    "A dependency (provisioned at twice its load) is down (fails fast) for 20 s, then healthy; users retry a failed or shed request twice. The circuit must open quickly and close again through a ramp — the reference's breaker never exited.",
		Duration: 90 * sec, Incident: span(20, 40), Watch: "GET /dep",
		Services: []Service{{Name: "dep", Capacity: 8, Health: Phases(Healthy(40*ms), Phase{span(20, 40), Const(Health{Down: true})})}},
		Routes:   []Route{{ID: "GET /dep", Service: "dep", Timeout: sec}},
		Traffic:  []Traffic{retrying("users", Flat(100), "GET /dep")},
		Checks: []Check{
			tripsWithin(2 * sec),
			recoversWithin(25 * sec),
			{Name: "at most 6 state changes",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					return fmt.Sprint(a.Transitions), a.Transitions <= 6
				}},
		},
	}
}

// 9. Predictive LOD: load climbs steadily; momentum should start the soft
// degradation before the frame budget is blown.
func predictiveLOD() Scenario {
	rate := Linear([]time.Duration{0, 10 * sec, 70 * sec, 70*sec + 1}, []float64{150, 150, 1000, 150})
	mix := []Share{{atrion.PriorityNormal, 0.5}, {atrion.PriorityLow, 0.3}, {atrion.PriorityBulk, 0.2}}
	return Scenario{
		Name: "predictive-lod", Title: "Predictive LOD (momentum)", Kind: Overload,
		About:    "Load climbs steadily from 30 % to 200 % of the game server's capacity over 60 s. Shedding should begin before callers start timing out without protection.",
		Duration: 90 * sec, Incident: span(10, 70), Watch: "game:frame",
		Services: []Service{{Name: "game", Capacity: 10, Health: Const(Healthy(20 * ms))}},
		Routes:   []Route{{ID: "game:frame", Service: "game", Timeout: 100 * ms}},
		Traffic:  []Traffic{{Class: "players", Legit: true, Routes: []string{"game:frame"}, Rate: rate, Mix: mix}},
		Checks: []Check{
			{Name: "starts shedding (≥ 5% in a bin) before none's calls start timing out (≥ 5% in a bin)",
				Eval: func(a *Result, o map[string]*Result) (string, bool) {
					w := span(10, 70)
					shed := a.First(a.EntryBins, w, Sheds(0.05))
					n := o[None.Name]
					tmo := n.First(n.EntryBins, w, func(c Counts) bool { return c.Attempts > 0 && 20*c.TimedOut >= c.Attempts })
					return fmt.Sprintf("shed at %s, none times out at %s", fmtDur(shed), fmtDur(tmo)), shed >= 0 && (tmo < 0 || shed < tmo)
				}},
			servedAtLeastNone(span(10, 70), 1.0),
			recoversWithin(15 * sec),
		},
	}
}

// 10. E-commerce Black Friday: 2× overload; checkout must go through.
func blackFriday() Scenario {
	mix := []Share{
		{atrion.PriorityCritical, 0.1}, // checkout
		{atrion.PriorityHigh, 0.2},     // cart
		{atrion.PriorityNormal, 0.4},   // browse
		{atrion.PriorityLow, 0.3},      // recommendations
	}
	return Scenario{
		Name: "black-friday", Title: "E-commerce Black Friday (priorities)", Kind: Overload,
		About:    "A shop serving about 750 rps gets 1,500 rps for 30 s: checkout is critical, cart high, browsing normal, recommendations low. Checkout must go through; recommendations go first.",
		Duration: 90 * sec, Incident: span(20, 50), Watch: "shop",
		Services: []Service{{Name: "shop", Capacity: 30, Health: Const(Healthy(40 * ms))}},
		Routes:   []Route{{ID: "shop", Service: "shop", Timeout: 2 * sec}},
		Traffic:  []Traffic{{Class: "shoppers", Legit: true, Routes: []string{"shop"}, Rate: Steps([]time.Duration{0, 20 * sec, 50 * sec}, []float64{400, 1500, 400}), Mix: mix}},
		Checks: []Check{
			prioritySuccess(atrion.PriorityCritical, span(20, 50), 0.98),
			prioritySuccess(atrion.PriorityHigh, span(20, 50), 0.90),
			priorityOrdered(span(20, 50)),
		},
	}
}

// 11. IoT data dam: a stream at twice the database's write capacity;
// lossy backpressure keeps the database writing at capacity.
func iotDam() Scenario {
	return Scenario{
		Name: "iot-dam", Title: "IoT Data Dam (lossy backpressure)", Kind: Overload,
		About:    "GPS points (bulk priority) arrive at 1,000/s for 45 s into a database that writes about 500/s. Dropping the excess at the door (sampling) must keep the database writing near capacity instead of timing out.",
		Duration: 100 * sec, Incident: span(15, 60), Watch: "iot:ingest",
		Services: []Service{{Name: "db", Capacity: 20, Health: Const(Healthy(40 * ms))}},
		Routes:   []Route{{ID: "iot:ingest", Service: "db", Timeout: sec}},
		Traffic: []Traffic{{Class: "points", Legit: true, Routes: []string{"iot:ingest"},
			Rate: Steps([]time.Duration{0, 15 * sec, 60 * sec}, []float64{300, 1000, 300}), Mix: []Share{{atrion.PriorityBulk, 1}}}},
		Checks: []Check{
			{Name: "writes ≥ 70% of capacity (350/s) during the flood",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					rps := float64(a.Entry(span(15, 60)).OK) / 45
					return fmt.Sprintf("%.0f/s", rps), rps >= 350
				}},
			{Name: "admitted writes time out ≤ 5% during the flood",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					c := a.Entry(span(15, 60))
					s := ratio(int(c.TimedOut), c.Admitted())
					return pct(s), s <= 0.05
				}},
			recoversWithin(10 * sec),
		},
	}
}

// 12. Microservices domino: A → B → C; C hangs; without a stopper the
// hang climbs the chain and takes down A's unrelated route.
func domino() Scenario {
	hang := Health{Latency: 3 * sec, Jitter: 0.3, ErrorRate: 0.2}
	return Scenario{
		Name: "domino", Title: "Microservices Domino (cascade)", Kind: Fault,
		About:    "A gateway A serves /home itself and /order through B, which calls C. C hangs (3 s, 20 % errors) for 30 s. Each call edge is guarded. Without a stopper B and then A fill up with waiting calls and A's accept queue overflows, failing /home too.",
		Duration: 80 * sec, Incident: span(20, 50), Watch: "C:/stock",
		Services: []Service{
			{Name: "A", Capacity: 20, Queue: 100, Health: Const(Healthy(10 * ms))},
			{Name: "B", Capacity: 20, Queue: 100, Health: Const(Healthy(20 * ms))},
			{Name: "C", Capacity: 20, Health: Phases(Healthy(30*ms), Phase{span(20, 50), Const(hang)})},
		},
		Routes: []Route{
			{ID: "A:/home", Service: "A", Timeout: 2 * sec},
			{ID: "A:/order", Service: "A", Timeout: 2 * sec, Calls: []string{"B:/reserve"}},
			{ID: "B:/reserve", Service: "B", Timeout: sec, Calls: []string{"C:/stock"}},
			{ID: "C:/stock", Service: "C", Timeout: 500 * ms},
		},
		Traffic: []Traffic{
			openLoop("home", Flat(200), "A:/home"),
			openLoop("order", Flat(200), "A:/order"),
		},
		Checks: []Check{
			classSuccess("home", span(20, 50), 0.99),
			tripsWithin(3 * sec),
			recoversWithin(30 * sec),
		},
	}
}

// 13. AutoTuner validation: a noisy but healthy route must not trip; a
// real incident must.
func autoTuner() Scenario {
	noisy := Health{Latency: 50 * ms, Jitter: 0.8, ErrorRate: 0.01, SpikeRate: 0.03, SpikeMin: 200 * ms, SpikeMax: 400 * ms}
	bad := noisy
	bad.ErrorRate = 0.5
	return Scenario{
		Name: "autotuner", Title: "AutoTuner validation", Kind: Fault,
		About:    "A noisy but healthy route (log-normal latency σ 0.8, 3 % spikes of 200–400 ms, 1 % errors — at its SLO) for a minute, then 50 % errors for 20 s; the service runs at about 60 % of its workers and users retry a failed or shed request twice, so the incident's retries overload it. No false trips while noisy; a real trip in the incident.",
		Duration: 120 * sec, Incident: span(60, 80), Watch: "GET /noisy",
		Services: []Service{{Name: "noisy", Capacity: 12, Health: Phases(noisy, Phase{span(60, 80), Const(bad)})}},
		Routes:   []Route{{ID: "GET /noisy", Service: "noisy", Timeout: 2 * sec}},
		Traffic:  []Traffic{retrying("users", Flat(100), "GET /noisy")},
		Checks: []Check{
			quietBefore(span(5, 60), 0.01),
			tripsWithin(3 * sec),
			recoversWithin(30 * sec),
			{Name: "learned break point within [30, 500] before the incident",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					p := a.Probes[int(59*sec/a.Bin)]
					return fmt.Sprintf("%.1f", p.Break), p.Break >= 30 && p.Break <= 500
				}},
		},
	}
}
