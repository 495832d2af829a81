package windtunnel

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/atrion-go/atrion/benchmarks/internal/fairness"
)

// This file holds the scenarios of shared capacity (issue 28): routes of
// different cost on one connection pool, equal routes over capacity, a
// big tenant among small ones, and a busy host. They model what users
// run: a Go service whose handlers query one database through a pool of
// 8 connections (pgxpool's MaxConns), where a call holds a connection for
// its query and waits for one when all are taken; the pool honours the
// request's context, so a caller that has gone leaves the wait (the
// services are deadline-aware). Each guard is deployed as in every other
// scenario: Atrion and the process-wide limiters one per node, breakers
// one per route (one per client key where routes differ only by key).
// Their checks are the targets of the issue, evaluated for every
// contestant; capacities and fair shares come from the scenario's own
// numbers (workers ÷ mean service time), never from a run.

// graceAfter is how long an incident runs before its checks start
// counting: a guard's time to see it.
const graceAfter = 2 * sec

// meanService is the mean service time of a call on a route of cost c on
// a service in health h: its log-normal latency's mean, median·e^(σ²/2).
func meanService(h Health, cost float64) float64 {
	if cost <= 0 {
		cost = 1
	}
	return h.Latency.Seconds() * cost * math.Exp(h.Jitter*h.Jitter/2)
}

// perSecond is n over w's length.
func perSecond(n int32, w Window) float64 { return float64(n) / (w.To - w.From).Seconds() }

// servedShareOf: class's user requests in w are served at least min of
// those offered.
func servedShareOf(class string, w Window, min float64) Check {
	return Check{Name: fmt.Sprintf("%q served ≥ %.0f%% of its offered requests (%v–%v)", class, 100*min, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			u := a.Class(class, w)
			s := ratio(int(u.Served), int(u.Offered))
			return fmt.Sprintf("%s (%.1f of %.1f/s)", pct(s), perSecond(u.Served, w), perSecond(u.Offered, w)), s >= min
		}}
}

// p99Within: route's p99 in w is at most factor × its own p99 while
// healthy.
func p99Within(route string, healthy, w Window, factor float64) Check {
	return Check{Name: fmt.Sprintf("%s p99 ≤ %.0f× its healthy p99 (%v–%v against %v–%v)", route, factor, w.From, w.To, healthy.From, healthy.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			h, p := a.RoutePercentile(route, healthy, 0.99), a.RoutePercentile(route, w, 0.99)
			return fmt.Sprintf("%s against %s", fmtLatency(p), fmtLatency(h)), h > 0 && p > 0 && p <= time.Duration(factor*float64(h))
		}}
}

// classCost is a traffic class and the mean time each of its requests
// holds the bottleneck.
type classCost struct {
	class string
	cost  float64 // seconds of a worker per request
}

// busyAtLeast: in w the classes' served requests kept the bottleneck's
// workers busy at least min of the time (served requests × their mean
// service time ÷ workers × w's length): goodput in cost, against
// capacity.
func busyAtLeast(cs []classCost, workers float64, w Window, min float64) Check {
	return Check{Name: fmt.Sprintf("goodput ≥ %.0f%% of capacity: served work ÷ %.0f workers (%v–%v)", 100*min, workers, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			work := 0.0
			for _, c := range cs {
				work += float64(a.Class(c.class, w).Served) * c.cost
			}
			s := work / (workers * (w.To - w.From).Seconds())
			return pct(s), s >= min
		}}
}

// jainAtLeast: Jain's index of the classes' served requests per second
// in w is at least min (their demands are equal, so their fair shares
// are).
func jainAtLeast(classes []string, w Window, min float64) Check {
	return Check{Name: fmt.Sprintf("Jain's index of %s's goodput ≥ %.2f (%v–%v)", strings.Join(classes, ", "), min, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			xs := make([]float64, len(classes))
			cells := make([]string, len(classes))
			for i, c := range classes {
				xs[i] = perSecond(a.Class(c, w).Served, w)
				cells[i] = fmt.Sprintf("%.1f", xs[i])
			}
			j := fairness.Jain(xs)
			return fmt.Sprintf("%.3f (%s/s)", j, strings.Join(cells, " / ")), j >= min
		}}
}

// neverBanned: the client keys of routes were never banned in w.
func neverBanned(what string, routes []string, w Window) Check {
	return Check{Name: fmt.Sprintf("%s never banned (%v–%v)", what, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			var d time.Duration
			for _, r := range routes {
				d = max(d, a.BannedFor(r, w))
			}
			if d > 0 {
				return "banned for " + fmtDur(d), false
			}
			return "never", true
		}}
}

// servedAtLeastRate: class's requests served per second in w reach
// min × rate, where rate is min(its demand, its fair share), worked out
// from the scenario (why says how).
func servedAtLeastRate(class string, w Window, rate, min float64, why string) Check {
	return Check{Name: fmt.Sprintf("%q served ≥ %.0f%% of %.0f/s (%s) (%v–%v)", class, 100*min, rate, why, w.From, w.To),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			s := perSecond(a.Class(class, w).Served, w)
			return fmt.Sprintf("%.1f/s", s), s >= min*rate
		}}
}

// poolConns is the pool every scenario of this file shares: pgxpool's
// MaxConns of 8.
const poolConns = 8

// 28. A cheap route and an expensive one on one pool; the expensive one
// spikes 10×.
func heteroCost() Scenario {
	h := Healthy(5 * ms)
	const reportCost = 40 // a 200 ms report against a 5 ms lookup
	spike := span(20, 50)
	in := Window{spike.From + graceAfter, spike.To}
	return Scenario{
		Name: "hetero-cost", Title: "Cheap and expensive routes on one pool", Kind: Overload,
		About:    "A Go service queries one database through a pool of 8 connections. GET /lookup runs a 5 ms query at a steady 50 requests/s; GET /report runs a 200 ms query at 6 requests/s, then for 30 s at 60 (12 connections' worth against 8). Clients time out after 1 s; a caller that has gone leaves the pool's wait. The lookups need a thirtieth of a connection each second: a fair guard sheds only reports, keeps the lookups fast and the pool busy.",
		Duration: 80 * sec, Incident: spike, Watch: "GET /report",
		Services: []Service{{Name: "api", Capacity: poolConns, DeadlineAware: true, Health: Const(h)}},
		Routes: []Route{
			{ID: "GET /lookup", Service: "api", Timeout: sec},
			{ID: "GET /report", Service: "api", Timeout: sec, Cost: reportCost},
		},
		Traffic: []Traffic{
			openLoop("lookup", Flat(50), "GET /lookup"),
			openLoop("report", Steps([]time.Duration{0, spike.From, spike.To}, []float64{6, 60, 6}), "GET /report"),
		},
		Checks: []Check{
			servedShareOf("lookup", in, 0.95),
			p99Within("GET /lookup", span(5, 20), in, 2),
			busyAtLeast([]classCost{{"lookup", meanService(h, 1)}, {"report", meanService(h, reportCost)}}, poolConns, in, 0.95),
			recoversWithin(5 * sec),
		},
	}
}

// equalRoutes is three routes running the same 160 ms query on the
// pool, 10 requests/s each, then 32 each (twice the pool's capacity) for
// 30 s; retry gives their clients userRetry.
func equalRoutes(retry bool) Scenario {
	h := Healthy(160 * ms)
	over := span(20, 50)
	in := Window{over.From + graceAfter, over.To}
	capacity := poolConns / meanService(h, 1)
	s := Scenario{
		Name: "equal-routes", Title: "Equal routes over capacity", Kind: Overload,
		About:    "Three routes of a Go service run the same 160 ms query through one pool of 8 connections (about 48 requests/s in all). Each gets 10 requests/s, then for 30 s 32 (twice the pool's capacity in all); clients time out after 1 s and leave the pool's wait. Equal routes with equal demand should get equal shares of the pool, and together all of it.",
		Duration: 80 * sec, Incident: over, Watch: "GET /a",
		Services: []Service{{Name: "api", Capacity: poolConns, DeadlineAware: true, Health: Const(h)}},
	}
	var classes []string
	var cs []classCost
	for _, n := range []string{"a", "b", "c"} {
		id := "GET /" + n
		s.Routes = append(s.Routes, Route{ID: id, Service: "api", Timeout: sec})
		t := openLoop(n, Steps([]time.Duration{0, over.From, over.To}, []float64{10, 32, 10}), id)
		if retry {
			t.Retry = userRetry
		}
		s.Traffic = append(s.Traffic, t)
		classes = append(classes, n)
		cs = append(cs, classCost{n, meanService(h, 1)})
	}
	if retry {
		s.Name += "-retry"
		s.Title += ", retrying clients"
		s.About = strings.TrimSuffix(s.About, ".") + ". Here clients retry a failed or shed request twice, with jittered backoff."
	}
	s.Checks = []Check{
		jainAtLeast(classes, in, 0.95),
		busyAtLeast(cs, poolConns, in, 0.95),
		servesPerSecond(0.95*capacity, in, "95% of the pool's capacity"),
		recoversWithin(5 * sec),
	}
	return s
}

// 31. One tenant sends 60 % of a route's calls, through an overload it
// did not cause and one it did.
func bigTenant() Scenario {
	base := Healthy(20 * ms)
	slow := Healthy(50 * ms)
	depSlow, surge := span(20, 50), span(60, 90)
	const bigRate, smallRate, surgeRate = 240, 40, 720
	s := Scenario{
		Name: "big-tenant", Title: "A big tenant among small ones", Kind: Mixed,
		About:    "An API's route queries a database through 16 connections (20 ms: about 765 requests/s). Five tenants call it with their API key: one sends 240 requests/s (60 %), four send 40 each. For 30 s the database slows to 50 ms (about 306/s), an overload no tenant caused; later the big tenant alone triples its rate for 30 s. None of its calls fail. A fair guard sheds the big tenant to its share of what is left while the small tenants are served in full, and never bans it.",
		Duration: 120 * sec, Incident: depSlow, Watch: "POST /api big",
		Services: []Service{{Name: "api", Capacity: 2 * poolConns, DeadlineAware: true, Health: Phases(base, Phase{depSlow, Const(slow)})}},
	}
	tenant := func(name string, rate func(time.Duration) float64) string {
		id := "POST /api " + name
		s.Routes = append(s.Routes, Route{ID: id, Service: "api", Key: "POST /api", Client: "tenant-" + name, Timeout: sec})
		s.Traffic = append(s.Traffic, openLoop(name, rate, id))
		return id
	}
	all := []string{tenant("big", Steps([]time.Duration{0, surge.From, surge.To}, []float64{bigRate, surgeRate, bigRate}))}
	small := []string{"s1", "s2", "s3", "s4"}
	for _, n := range small {
		all = append(all, tenant(n, Flat(smallRate)))
	}
	s.Checks = []Check{neverBanned("the big tenant", all[:1], s.All())}
	for _, ph := range []struct {
		w       Window
		h       Health
		big     float64
		whyWord string
	}{{depSlow, slow, bigRate, "slow database"}, {surge, base, surgeRate, "its own surge"}} {
		in := Window{ph.w.From + graceAfter, ph.w.To}
		capacity := 2 * poolConns / meanService(ph.h, 1)
		shares := fairness.MaxMinShares(capacity, []float64{ph.big, smallRate, smallRate, smallRate, smallRate})
		s.Checks = append(s.Checks, servedAtLeastRate("big", in, math.Min(ph.big, shares[0]), 0.95,
			fmt.Sprintf("%s: min(demand, max-min share of %.0f/s)", ph.whyWord, capacity)))
		for _, n := range small {
			s.Checks = append(s.Checks, servedShareOf(n, in, 0.99))
		}
	}
	after := span(95, 120)
	s.Checks = append(s.Checks, servedShareOf("big", after, 0.99))
	return s
}

// 32. Healthy load while a CPU hog on the host inflates every call's
// latency alike.
func busyHost() Scenario {
	base := Healthy(20 * ms)
	// the hog takes 60 % of the CPU: the service's work gets the 40 % left,
	// 2.5× slower, with the jitter of a contended scheduler
	hogged := Health{Latency: 50 * ms, Jitter: 0.5, OtherCPU: 0.6}
	hog := span(30, 90)
	routes := []string{"GET /items", "GET /search"}
	return Scenario{
		Name: "busy-host", Title: "Busy host (a CPU hog beside the service)", Kind: Fault,
		About:    "A service with 20 workers serves GET /items (20 ms, 80 requests/s) and GET /search (50 ms, 40 requests/s): a fifth of its capacity, learned on an idle host. After 30 s another process takes 60 % of the host's CPU for a minute: every call of every route slows alike, 2.5× with more jitter (CPU steal), and the host's CPU reads near full. The service still runs at about half its capacity: a good guard sheds nothing.",
		Duration: 120 * sec, Incident: hog, Watch: "GET /items",
		Services: []Service{{Name: "api", Capacity: 20, DeadlineAware: true, Health: Phases(base, Phase{hog, Const(hogged)})}},
		Routes: []Route{
			{ID: routes[0], Service: "api", Timeout: sec},
			{ID: routes[1], Service: "api", Timeout: sec, Cost: 2.5},
		},
		Traffic: []Traffic{openLoop("items", Flat(80), routes[0]), openLoop("search", Flat(40), routes[1])},
		Checks: []Check{
			nothingShed(routes, Window{0, 120 * sec}),
			classSuccess("items", hog, 0.99),
			classSuccess("search", hog, 0.99),
		},
	}
}

// nothingShed: the routes' calls in w are shed at most 0.1 % (nothing,
// but for one call in a thousand).
func nothingShed(routes []string, w Window) Check {
	c := shedAtMost("every route", routes, w, 0.001)
	c.Name = fmt.Sprintf("every route: nothing shed (≤ 0.1%% of calls) (%v–%v)", w.From, w.To)
	return c
}

// shareScenarios are this file's scenarios.
func shareScenarios() []Scenario {
	return []Scenario{heteroCost(), equalRoutes(false), equalRoutes(true), bigTenant(), busyHost()}
}

// allDeadlineAware reports whether every service of sc is deadline-aware
// already, so that its deadline-aware twin would be the same scenario.
func allDeadlineAware(sc Scenario) bool {
	return !slices.ContainsFunc(sc.Services, func(s Service) bool { return !s.DeadlineAware })
}
