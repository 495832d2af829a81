package loadtest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/atrion-go/atrion/benchmarks/internal/fairness"
)

// This file holds the scenarios of shared capacity (issue 28), the load
// test's versions of the Wind Tunnel's hetero-cost, equal-routes(-retry),
// big-tenant and busy-host: routes of different cost on the backend's one
// pool, equal routes over capacity, a big tenant among small ones, and a
// busy host. Their pass criteria are Checks, judged on each run's
// records for every contestant; capacities and fair shares come from the
// scenario's own numbers (workers ÷ service time), never from a run.

// Names of the scenarios of shared capacity.
const (
	HeteroCost       = "hetero-cost"
	EqualRoutes      = "equal-routes"
	EqualRoutesRetry = "equal-routes-retry"
	BigTenant        = "big-tenant"
	BusyHost         = "busy-host"
)

// ShareScenarioNames are the scenarios of shared capacity, in their
// order; "-scenarios shares" runs them alone.
var ShareScenarioNames = []string{HeteroCost, EqualRoutes, EqualRoutesRetry, BigTenant, BusyHost}

// ShareTimeline sets the lengths of the phases of the scenarios of
// shared capacity.
type ShareTimeline struct {
	Settle   time.Duration // the start of hetero-cost's healthy phase left out of its healthy p99 (connections are made in it)
	Baseline time.Duration // hetero-cost's healthy phase, in which the lookups' healthy p99 is measured
	Warmup   time.Duration // the healthy start of the others
	Incident time.Duration // each overload, and the CPU hog
	Gap      time.Duration // big-tenant's healthy pause between its two overloads
	Grace    time.Duration // how long an incident runs before its checks count: a guard's time to see it
}

// DefaultShareTimeline is make loadtest's: about 42 s of scenarios per
// contestant and round, each incident judged over its last 3 s.
var DefaultShareTimeline = ShareTimeline{
	Settle: time.Second, Baseline: 3 * time.Second, Warmup: 2 * time.Second,
	Incident: 5 * time.Second, Gap: time.Second, Grace: 2 * time.Second,
}

// ShareRetry is how the clients of equal-routes-retry retry, as the Wind
// Tunnel's retrying users do: twice more, after 0–100 ms then 0–200 ms.
var ShareRetry = Retry{Max: 2, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}

// Keys of big-tenant: the big tenant first.
var tenantKeys = []string{"tenant-big", "tenant-s1", "tenant-s2", "tenant-s3", "tenant-s4"}

// ShareScenarios returns the scenarios of shared capacity on timeline t.
func ShareScenarios(t ShareTimeline) []Scenario {
	return []Scenario{heteroCost(t), equalRoutes(t, false), equalRoutes(t, true), bigTenant(t), busyHost(t)}
}

// heteroCost: a cheap route (catalog, 5 ms, 50/s) and a report route
// (reports, 200 ms) on the pool; the reports spike from 6 to 60/s, 12
// connections' worth against 8.
func heteroCost(t ShareTimeline) Scenario {
	const lookupRate, reportRate, spikeRate = 50, 6, 60
	lookup, report := 5*time.Millisecond, 200*time.Millisecond
	flows := func(reports float64) []Stream {
		return []Stream{{Route: Catalog, Rate: lookupRate}, {Route: Reports, Rate: reports}}
	}
	sc := Scenario{
		Name: HeteroCost,
		About: "catalog is a 5 ms lookup at 50/s, reports a 200 ms report at 6/s that spikes to 60/s (12 connections' worth) on the pool of " +
			"the backend's workers; a fair guard sheds only reports, keeps the lookups fast and the pool busy",
		Phases: []Phase{
			{Name: "healthy", Duration: t.Baseline, Streams: flows(reportRate), Role: Warmup},
			{Name: "reports spike", Duration: t.Incident, Streams: flows(spikeRate), Role: Incident},
		},
		Focus: []int{Reports}, Healthy: []int{Catalog},
	}
	sc.Service[Catalog], sc.Service[Reports] = lookup, report
	healthy := func(j *judge) span { w := j.phase("healthy"); w.from += t.Settle; return w }
	spike := func(j *judge) span { return j.judged("reports spike", t.Grace) }
	sc.Checks = []Check{
		{Label: "lookups served during the spike, ÷ offered", Target: "≥ 0.95", Eval: func(j *judge) (string, bool) {
			c := j.due(spike(j), onRoute(Catalog))
			s := ratio(c.Served, c.Offered)
			return fmt.Sprintf("%.2f", s), s >= 0.95
		}},
		{Label: "lookups' p99 during the spike ÷ healthy p99", Target: "≤ 2", Eval: func(j *judge) (string, bool) {
			h, p := j.due(healthy(j), onRoute(Catalog)), j.due(spike(j), onRoute(Catalog))
			if h.Served == 0 || p.Served == 0 {
				return "–", false
			}
			f := float64(p.P99) / float64(h.P99)
			return fmt.Sprintf("%.1f", f), f <= 2
		}},
		{Label: "lookups' p99, healthy → spike, ms", Eval: func(j *judge) (string, bool) {
			h, p := j.due(healthy(j), onRoute(Catalog)), j.due(spike(j), onRoute(Catalog))
			return p99(h) + "→" + p99(p), true
		}},
		{Label: "goodput in work during the spike, ÷ capacity", Target: "≥ 0.95", Eval: func(j *judge) (string, bool) {
			g := j.work(spike(j))
			return fmt.Sprintf("%.2f", g), g >= 0.95
		}},
		{Label: "reports served/s during the spike", Eval: func(j *judge) (string, bool) {
			w := spike(j)
			return perSec(j.answered(w, onRoute(Reports)).Served, w.length()), true
		}},
	}
	return sc
}

// equalRoutes: three routes running the same 160 ms query on the pool,
// 10/s each, then 32/s each (about twice the capacity); retry gives their
// clients ShareRetry.
func equalRoutes(t ShareTimeline, retry bool) Scenario {
	const healthyRate, overRate = 10, 32
	all := []int{Catalog, Orders, Reports}
	flows := func(rate float64) []Stream {
		var s []Stream
		for _, r := range all {
			s = append(s, Stream{Route: r, Rate: rate})
		}
		return s
	}
	sc := Scenario{
		Name: EqualRoutes,
		About: "catalog, orders and reports run the same 160 ms query on the pool; 10/s each, then 32/s each (about twice the capacity): " +
			"equal routes with equal demand should get equal shares of the pool, and together all of it",
		Phases: []Phase{
			{Name: "healthy", Duration: t.Warmup, Streams: flows(healthyRate), Role: Warmup},
			{Name: "2× over", Duration: t.Incident, Streams: flows(overRate), Role: Incident},
		},
		Focus: all,
	}
	for _, r := range all {
		sc.Service[r] = 160 * time.Millisecond
	}
	if retry {
		sc.Name = EqualRoutesRetry
		sc.About += fmt.Sprintf("; here clients retry a shed, failed or timed-out request %d times, after a full-jitter backoff of %v doubling",
			ShareRetry.Max, ShareRetry.Backoff)
		sc.Retry = &ShareRetry
	}
	over := func(j *judge) span { return j.judged("2× over", t.Grace) }
	rates := func(j *judge) []float64 {
		w := over(j)
		var xs []float64
		for _, r := range all {
			xs = append(xs, float64(j.answered(w, onRoute(r)).Served)/w.length().Seconds())
		}
		return xs
	}
	sc.Checks = []Check{
		{Label: "Jain's index of the routes' goodput", Target: "≥ 0.95", Eval: func(j *judge) (string, bool) {
			xs := rates(j)
			if slices.Max(xs) == 0 { // nothing served: equal, but no share at all
				return "–", false
			}
			f := fairness.Jain(xs)
			return fmt.Sprintf("%.2f", f), f >= 0.95
		}},
		{Label: "served/s by route", Eval: func(j *judge) (string, bool) {
			var cells []string
			for _, x := range rates(j) {
				cells = append(cells, fmt.Sprintf("%.0f", x))
			}
			return strings.Join(cells, ":"), true
		}},
		{Label: "goodput, ÷ capacity", Target: "≥ 0.95", Eval: func(j *judge) (string, bool) {
			g := j.work(over(j))
			return fmt.Sprintf("%.2f", g), g >= 0.95
		}},
	}
	if retry {
		sc.Checks = append(sc.Checks, Check{Label: "attempts per request", Eval: func(j *judge) (string, bool) {
			w := over(j)
			n, tries := 0, 0
			for i := range j.recs {
				if r := &j.recs[i]; w.has(r.At) && r.Outcome != Dropped {
					n++
					tries += int(r.Tries)
				}
			}
			return fmt.Sprintf("%.2f", ratio(tries, n)), true
		}})
	}
	return sc
}

// bigTenant: five tenants call catalog (40 ms) with their API key, the big
// one 60/s (60 %), four small ones 10/s each. The backend slows to 100 ms
// (an overload no tenant caused), then, healthy again, the big tenant
// triples its rate (its own).
func bigTenant(t ShareTimeline) Scenario {
	const big, small, surge = 60, 10, 180
	base, extra := 40*time.Millisecond, 60*time.Millisecond
	flows := func(bigRate float64) []Stream {
		s := []Stream{{Route: Catalog, Key: 1, Rate: bigRate}}
		for k := 2; k <= len(tenantKeys); k++ {
			s = append(s, Stream{Route: Catalog, Key: k, Rate: small})
		}
		return s
	}
	sc := Scenario{
		Name: BigTenant,
		About: "five tenants call catalog (40 ms) with their API key in " + KeyHeader + ": tenant-big at 60/s (60 %), four small ones at 10/s; " +
			"the backend slows to 100 ms (an overload no tenant caused), then, healthy again, tenant-big triples its rate (one it caused). " +
			"None of its calls fail: a fair guard sheds it to its share while the small tenants are served in full, and never bans it",
		Phases: []Phase{
			{Name: "healthy", Duration: t.Warmup, Streams: flows(big), Role: Warmup},
			{Name: "backend slow", Duration: t.Incident, Streams: flows(big), Role: Incident, Faults: on(Catalog, Fault{Extra: extra})},
			{Name: "between", Duration: t.Gap, Streams: flows(big), Role: Aftermath},
			{Name: "big surges", Duration: t.Incident, Streams: flows(surge), Role: Incident},
		},
		Focus: []int{Catalog}, Keys: tenantKeys,
	}
	sc.Service[Catalog] = base
	isBig := withKey(1)
	isSmall := func(r *Record) bool { return r.Key > 1 }
	sc.Checks = []Check{{Label: "big tenant's requests refused as banned", Target: "0", Eval: func(j *judge) (string, bool) {
		n := 0
		for i := range j.recs {
			if r := &j.recs[i]; r.Banned && isBig(r) {
				n++
			}
		}
		return fmt.Sprint(n), n == 0
	}}}
	for _, ph := range []struct {
		name    string
		service time.Duration
		big     float64
	}{{"backend slow", base + extra, big}, {"big surges", base, surge}} {
		in := func(j *judge) span { return j.judged(ph.name, t.Grace) }
		sc.Checks = append(sc.Checks,
			Check{Label: ph.name + ": big tenant served ÷ min(demand, fair share)", Target: "≥ 0.95", Eval: func(j *judge) (string, bool) {
				capacity := float64(j.workers) / ph.service.Seconds()
				shares := fairness.MaxMinShares(capacity, []float64{ph.big, small, small, small, small})
				w := in(j)
				s := float64(j.answered(w, isBig).Served) / w.length().Seconds() / math.Min(ph.big, shares[0])
				return fmt.Sprintf("%.2f", s), s >= 0.95
			}},
			Check{Label: ph.name + ": small tenants served, ÷ offered", Target: "≥ 0.99", Eval: func(j *judge) (string, bool) {
				c := j.due(in(j), isSmall)
				s := ratio(c.Served, c.Offered)
				return fmt.Sprintf("%.3f", s), s >= 0.99
			}})
	}
	return sc
}

// busyHost: the healthy load of the control law's scenarios (half the
// capacity, the routes by Weights), then the same with a CPU hog process
// spinning on every core beside it.
func busyHost(t ShareTimeline) Scenario {
	all := []int{Catalog, Orders, Reports}
	sc := Scenario{
		Name: BusyHost,
		About: "the healthy load (half the capacity) on an idle host, then with another process spinning on every core: every call slows " +
			"alike (CPU steal), while the backend still has half its capacity free; a good guard sheds nothing",
		Phases: []Phase{
			{Name: "healthy", Duration: t.Warmup, Load: HealthyLoad, Role: Warmup},
			{Name: "CPU hog", Duration: t.Incident, Load: HealthyLoad, Role: Incident, Hog: true},
		},
		Focus: all,
	}
	hog := func(j *judge) span { return j.phase("CPU hog") }
	sc.Checks = []Check{
		{Label: "shed, ÷ requests (whole run)", Target: "≤ 0.001", Eval: func(j *judge) (string, bool) {
			c := j.due(span{0, j.sc.Duration()}, anyRecord)
			s := ratio(c.Shed, c.Offered)
			return fmt.Sprintf("%.3f", s), s <= 0.001
		}},
		{Label: "served with the hog, ÷ offered", Target: "≥ 0.99", Eval: func(j *judge) (string, bool) {
			c := j.due(hog(j), anyRecord)
			s := ratio(c.Served, c.Offered)
			return fmt.Sprintf("%.3f", s), s >= 0.99
		}},
		{Label: "p99, healthy → hog, ms", Eval: func(j *judge) (string, bool) {
			return p99(j.due(j.phase("healthy"), anyRecord)) + "→" + p99(j.due(hog(j), anyRecord)), true
		}},
	}
	return sc
}

// Check is a pass criterion of a scenario, judged on one run's records.
// A Check without a Target only reports a figure, and always passes.
type Check struct {
	Label  string
	Target string
	Eval   func(*judge) (value string, pass bool)
}

// CheckResult is a Check's verdict on one run.
type CheckResult struct {
	Label  string `json:"label"`
	Target string `json:"target,omitempty"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
}

// judgeRun evaluates sc's checks on a run's records.
func judgeRun(sc *Scenario, cfg *Config, recs []Record) []CheckResult {
	if len(sc.Checks) == 0 {
		return nil
	}
	j := &judge{sc: sc, recs: recs, workers: cfg.Workers}
	for r := range Routes {
		j.service[r] = sc.serviceOf(r, cfg.Service)
	}
	out := make([]CheckResult, 0, len(sc.Checks))
	for _, c := range sc.Checks {
		v, pass := c.Eval(j)
		out = append(out, CheckResult{Label: c.Label, Target: c.Target, Value: v, Pass: pass || c.Target == ""})
	}
	return out
}

// judge answers the checks' questions about one run.
type judge struct {
	sc      *Scenario
	recs    []Record
	workers int
	service [len(Routes)]time.Duration // each route's base service time
}

// span is [from, to) from the run's start.
type span struct{ from, to time.Duration }

func (w span) has(t time.Duration) bool { return t >= w.from && t < w.to }
func (w span) length() time.Duration    { return w.to - w.from }
func anyRecord(*Record) bool            { return true }
func onRoute(r int) func(*Record) bool  { return func(x *Record) bool { return int(x.Route) == r } }
func withKey(k int) func(*Record) bool  { return func(x *Record) bool { return int(x.Key) == k } }
func ratio(n, of int) float64           { return float64(n) / math.Max(float64(of), 1) }
func (j *judge) judged(name string, grace time.Duration) span {
	w := j.phase(name)
	w.from = min(w.from+grace, w.to)
	return w
}

// phase is the span of the phase named name (empty when there is none).
func (j *judge) phase(name string) span {
	var start time.Duration
	for _, p := range j.sc.Phases {
		if p.Name == name {
			return span{start, start + p.Duration}
		}
		start += p.Duration
	}
	return span{}
}

// due counts the requests that keep selects and that were due in w.
func (j *judge) due(w span, keep func(*Record) bool) Counts {
	var t tally
	for i := range j.recs {
		if r := &j.recs[i]; w.has(r.At) && keep(r) {
			t.add(r)
		}
	}
	return t.counts()
}

// answered counts the answers to requests that keep selects that arrived
// in w; Offered and Dropped stay 0.
func (j *judge) answered(w span, keep func(*Record) bool) Counts {
	var t tally
	for i := range j.recs {
		if r := &j.recs[i]; r.Outcome != Dropped && w.has(r.At+r.Latency) && keep(r) {
			t.add(r)
		}
	}
	c := t.counts()
	c.Offered = 0
	return c
}

// work is the goodput in w as a share of the pool's capacity: the work
// of served requests done in w ÷ (workers × w's length). A served
// request worked for its route's service time (plus the extra of the
// phase it was due in) up to its answer; only the part of that inside w
// counts, so that a long call answered early in w does not count work
// done before it.
func (j *judge) work(w span) float64 {
	var busy time.Duration
	for i := range j.recs {
		r := &j.recs[i]
		if r.Outcome != Served {
			continue
		}
		end := r.At + r.Latency
		begin := end - j.service[r.Route] - j.sc.Phases[r.Phase].Faults[r.Route].Extra
		busy += max(min(end, w.to)-max(begin, w.from), 0)
	}
	return busy.Seconds() / (float64(j.workers) * w.length().Seconds())
}
