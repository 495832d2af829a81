package loadtest

import (
	"math"
	"slices"
	"time"
)

// Counts are the fates of a set of scheduled requests. Offered = Served +
// Shed + Errors + Timeouts + Dropped.
type Counts struct {
	Offered  int           `json:"offered"`
	Served   int           `json:"served"`
	Shed     int           `json:"shed"`
	Errors   int           `json:"errors"`
	Timeouts int           `json:"timeouts"`
	Dropped  int           `json:"dropped"`          // never sent: a failure of the generator, not of the contestant
	Banned   int           `json:"banned,omitempty"` // of those sent, refused as a banned client key at least once
	P50      time.Duration `json:"p50"`              // of served requests, from when they were due
	P99      time.Duration `json:"p99"`
}

// Lost are the requests sent and neither served nor shed: errors and
// timeouts.
func (c Counts) Lost() int { return c.Errors + c.Timeouts }

// Lag is how punctually the generator sent a phase's requests.
type Lag struct {
	Sent int           `json:"sent"`
	Late int           `json:"late"` // sent more than LateAfter after they were due
	P99  time.Duration `json:"p99"`
}

// LateAfter is how late a request may be sent before it counts as late.
const LateAfter = 20 * time.Millisecond

// PhaseResult is what happened in one phase of a run. All, Focus,
// Healthy, Critical and Routes count each request in the phase it was due
// in, so their figures add up; Answered counts each answer in the phase
// it arrived in, so that a rate is what the service delivered in the
// phase (goodput can never exceed capacity) and not what it delivered,
// later, for the phase.
type PhaseResult struct {
	Name     string              `json:"name"`
	Role     PhaseRole           `json:"role"`
	Duration time.Duration       `json:"duration"`
	Load     float64             `json:"load"`
	All      Counts              `json:"all"`
	Focus    Counts              `json:"focus"`    // the scenario's focus routes
	Healthy  Counts              `json:"healthy"`  // the scenario's unharmed routes
	Critical Counts              `json:"critical"` // requests marked critical
	Routes   [len(Routes)]Counts `json:"routes"`
	Answered Answered            `json:"answered"`
	// FirstShed is the time from the phase's start to the first shed
	// request on a focus route; −1 when none was shed.
	FirstShed time.Duration `json:"first_shed"`
	// Recovery, in an Aftermath phase, is the time from its start until
	// the service serves at least RecoveredShare of its requests, on all
	// routes, in every later window (see recovery); −1 when it never does
	// within the phase.
	Recovery time.Duration `json:"recovery"`
	Lag      Lag           `json:"lag"`
	Backend  BackendStats  `json:"backend"` // what the backend did in the phase
}

// Answered counts the answers (and timeouts) that arrived in a phase,
// whenever their requests were due; Offered and Dropped stay 0. An answer
// after the run's last phase counts in that phase.
type Answered struct {
	All     Counts   `json:"all"`
	Focus   Counts   `json:"focus"`
	Healthy Counts   `json:"healthy"`
	Keys    []Counts `json:"keys,omitempty"` // by the scenario's client keys
}

// RecoveredShare is the served share at which a route counts as back to
// full service.
const RecoveredShare = 0.95

// RunResult is one contestant's run of one scenario.
type RunResult struct {
	Scenario   string        `json:"scenario"`
	Contestant string        `json:"contestant"`
	Round      int           `json:"round"`
	Phases     []PhaseResult `json:"phases"`
	Inflight   int           `json:"inflight"` // the most requests the generator had in flight
	Wall       time.Duration `json:"wall"`
	Checks     []CheckResult `json:"checks,omitempty"` // the scenario's pass criteria
}

// Sustained reports whether the generator kept to its schedule in every
// phase: at most 0.1 % of requests dropped for want of a free worker and
// at most 1 % sent late.
func (r *RunResult) Sustained() bool {
	for _, p := range r.Phases {
		if p.All.Dropped*1000 > p.All.Offered || p.Lag.Late*100 > p.Lag.Sent {
			return false
		}
	}
	return true
}

// tally accumulates Counts and the latencies of served requests.
type tally struct {
	c   Counts
	lat []time.Duration
}

func (t *tally) add(r *Record) {
	t.c.Offered++
	if r.Banned {
		t.c.Banned++
	}
	switch r.Outcome {
	case Served:
		t.c.Served++
		t.lat = append(t.lat, r.Latency)
	case Shed:
		t.c.Shed++
	case Errored:
		t.c.Errors++
	case TimedOut:
		t.c.Timeouts++
	default:
		t.c.Dropped++
	}
}

func (t *tally) counts() Counts {
	slices.Sort(t.lat)
	t.c.P50, t.c.P99 = quantile(t.lat, 0.5), quantile(t.lat, 0.99)
	return t.c
}

// quantile returns the q-quantile of sorted (nearest rank), 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// analyze turns a run's records into per-phase results.
func analyze(sc *Scenario, capacity float64, out *genOutput) []PhaseResult {
	focus, healthy := routeSet(sc.Focus), routeSet(sc.Healthy)
	byPhase := make([][]*Record, len(sc.Phases))
	for i := range out.Records {
		r := &out.Records[i]
		byPhase[r.Phase] = append(byPhase[r.Phase], r)
	}
	res := make([]PhaseResult, len(sc.Phases))
	answered(sc, out.Records, res)
	var start time.Duration
	for pi, p := range sc.Phases {
		var all, foc, hea, crit tally
		var routes [len(Routes)]tally
		var lags []time.Duration
		var recs []*Record
		pr := &res[pi]
		*pr = PhaseResult{Name: p.Name, Role: p.Role, Duration: p.Duration, Load: p.Load, FirstShed: -1, Recovery: -1,
			Answered: pr.Answered}
		for _, r := range byPhase[pi] {
			all.add(r)
			recs = append(recs, r)
			routes[r.Route].add(r)
			if r.Crit {
				crit.add(r)
			}
			if focus[r.Route] {
				foc.add(r)
				if r.Outcome == Shed && pr.FirstShed < 0 {
					pr.FirstShed = r.At - start
				}
			}
			if healthy[r.Route] {
				hea.add(r)
			}
			if r.Outcome != Dropped {
				lags = append(lags, r.Lag)
				if r.Lag > LateAfter {
					pr.Lag.Late++
				}
			}
		}
		pr.All, pr.Focus, pr.Healthy, pr.Critical = all.counts(), foc.counts(), hea.counts(), crit.counts()
		for i := range routes {
			pr.Routes[i] = routes[i].counts()
		}
		slices.Sort(lags)
		pr.Lag.Sent, pr.Lag.P99 = len(lags), quantile(lags, 0.99)
		if p.Role == Aftermath {
			pr.Recovery = recovery(recs, start, p.Duration, bucketWidth(p.Rate(capacity)))
		}
		if pi+1 < len(out.Backend) {
			pr.Backend = out.Backend[pi+1].sub(out.Backend[pi])
		}
		start += p.Duration
	}
	return res
}

// answered fills each phase's Answered.
func answered(sc *Scenario, recs []Record, res []PhaseResult) {
	focus, healthy := routeSet(sc.Focus), routeSet(sc.Healthy)
	ends := make([]time.Duration, len(sc.Phases))
	var end time.Duration
	for i, p := range sc.Phases {
		end += p.Duration
		ends[i] = end
	}
	type tallies struct {
		all, focus, healthy tally
		keys                []tally
	}
	ts := make([]tallies, len(sc.Phases))
	for i := range ts {
		ts[i].keys = make([]tally, len(sc.Keys))
	}
	for i := range recs {
		r := &recs[i]
		if r.Outcome == Dropped {
			continue
		}
		pi, _ := slices.BinarySearch(ends, r.At+r.Latency+1) // the phase whose end is after the answer
		t := &ts[min(pi, len(ts)-1)]
		t.all.add(r)
		if focus[r.Route] {
			t.focus.add(r)
		}
		if healthy[r.Route] {
			t.healthy.add(r)
		}
		if k := int(r.Key); k > 0 && k <= len(t.keys) {
			t.keys[k-1].add(r)
		}
	}
	for i := range ts {
		a := Answered{All: ts[i].all.counts(), Focus: ts[i].focus.counts(), Healthy: ts[i].healthy.counts()}
		a.All.Offered, a.Focus.Offered, a.Healthy.Offered = 0, 0, 0
		for k := range ts[i].keys {
			c := ts[i].keys[k].counts()
			c.Offered = 0
			a.Keys = append(a.Keys, c)
		}
		res[i].Answered = a
	}
}

func routeSet(rs []int) (set [len(Routes)]bool) {
	for _, r := range rs {
		set[r] = true
	}
	return set
}

func weightOf(rs []int) (w float64) {
	for _, r := range rs {
		w += Weights[r]
	}
	return w
}

// bucketWidth is the window in which recovery is judged for requests at
// rate per second: wide enough to expect 20 requests, so that one lost
// request is not a failed window, and at least 250 ms; a multiple of
// 50 ms.
func bucketWidth(rate float64) time.Duration {
	w := 250 * time.Millisecond
	if rate > 0 {
		w = max(w, time.Duration(20/rate*float64(time.Second)))
	}
	const step = 50 * time.Millisecond
	return (w + step - 1) / step * step
}

// recovery returns how long after start the requests of recs (one
// phase's, sorted by due time) went on being turned away: the end of the
// last window of width w, from the phase's start, in which fewer than
// RecoveredShare of the requests due were served; 0 when there was none,
// −1 when the phase's last window is one.
func recovery(recs []*Record, start, dur, w time.Duration) time.Duration {
	n := int((dur + w - 1) / w)
	offered, served := make([]int, n), make([]int, n)
	for _, r := range recs {
		b := min(int((r.At-start)/w), n-1)
		offered[b]++
		if r.Outcome == Served {
			served[b]++
		}
	}
	last := -1
	for b := range n {
		if offered[b] > 0 && float64(served[b]) < RecoveredShare*float64(offered[b]) {
			last = b
		}
	}
	switch {
	case last < 0:
		return 0
	case last == n-1:
		return -1
	}
	return min(time.Duration(last+1)*w, dur)
}
