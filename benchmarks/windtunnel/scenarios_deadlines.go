package windtunnel

import (
	"fmt"
	"time"
)

// The scenario of callers with mixed deadlines (issue 29): one search
// service, called by three kinds of callers that users run side by side,
// each with its own timeout on the same route (one route key, as a
// server's middleware sees it).
//
//   - an app's users, who wait up to 2 s;
//   - internal services, whose clients give the call 150 ms: enough when
//     there is no queue, not behind a long one;
//   - relayed calls, from a gateway that propagates its caller's deadline
//     after its own work: 40 ms left, less than the search's 50 ms median,
//     which no worker can serve in time whatever the guard does.
//
// For 40 s the callers together offer 1.5× the service's capacity.
func mixedDeadlines() Scenario {
	const key = "GET /search"
	return Scenario{
		Name: "mixed-deadlines", Title: "Mixed Deadlines", Kind: Overload,
		About:    "A search service (20 workers × 50 ms: 400 rps) is called on one route by app users (2 s timeout), internal services (150 ms) and a gateway relaying its callers' deadlines (40 ms left, under the 50 ms median: no worker can serve them in time). For 40 s they offer 1.5× capacity. A guard that reads deadlines starts no work on calls that cannot finish and spends the workers on those that can.",
		Duration: 60 * sec, Incident: span(10, 50), Watch: "search:app",
		Services: []Service{{Name: "search", Capacity: 20, Queue: 2000, Health: Const(Healthy(50 * ms))}},
		Routes: []Route{
			{ID: "search:app", Key: key, Service: "search", Timeout: 2 * sec},
			{ID: "search:internal", Key: key, Service: "search", Timeout: 150 * ms},
			{ID: "search:relayed", Key: key, Service: "search", Timeout: 40 * ms},
		},
		Traffic: []Traffic{
			openLoop("app", Steps([]time.Duration{0, 10 * sec, 50 * sec}, []float64{100, 250, 100}), "search:app"),
			openLoop("internal", Steps([]time.Duration{0, 10 * sec, 50 * sec}, []float64{80, 250, 80}), "search:internal"),
			openLoop("relayed", Steps([]time.Duration{0, 10 * sec, 50 * sec}, []float64{20, 100, 20}), "search:relayed"),
		},
		Checks: []Check{
			noDoomedWork(span(10, 50)),
			servedAtLeastPeers(span(10, 50), 0.005),
		},
	}
}

// peerNames are the Go peers a scenario can compare Atrion with.
var peerNames = []string{Gobreaker.Name, FailsafeBreaker.Name, FailsafeLimiter.Name, AegisSRE.Name, AegisBBR.Name}

// noDoomedWork: in w, Atrion starts no work on a call whose caller, when
// it was admitted, had less time left than the service's own work takes.
// Before w a cold guard cannot know the service's time (no call has
// finished yet): the whole run's count is shown beside.
func noDoomedWork(w Window) Check {
	return Check{Name: fmt.Sprintf("starts no work on calls that could not meet their deadline when admitted (%v–%v)", w.From, w.To),
		Eval: func(a *Result, o map[string]*Result) (string, bool) {
			all := Window{0, a.Duration}
			n := a.DoomedStarts(w)
			return fmt.Sprintf("%d, whole run %d (none %d, %d)", n, a.DoomedStarts(all), o[None.Name].DoomedStarts(w), o[None.Name].DoomedStarts(all)), n == 0
		}}
}

// servedAtLeastPeers: Atrion's share of the legit requests served in w is
// at least none's and every peer's, within tol.
func servedAtLeastPeers(w Window, tol float64) Check {
	return Check{Name: fmt.Sprintf("served share ≥ none's and the best peer's, within %.1f points (%v–%v)", 100*tol, w.From, w.To),
		Needs: peerNames,
		Eval: func(a *Result, o map[string]*Result) (string, bool) {
			share := func(r *Result) float64 { u := r.legitUsers(w); return ratio(int(u.Served), int(u.Offered)) }
			best, who := share(o[None.Name]), None.Name
			for _, n := range peerNames {
				if r := o[n]; r != nil && share(r) > best {
					best, who = share(r), n
				}
			}
			s := share(a)
			return fmt.Sprintf("%s vs %s %s", pct(s), who, pct(best)), s >= best-tol
		}}
}
