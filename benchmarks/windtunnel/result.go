package windtunnel

import (
	"math"
	"slices"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Counts are guarded calls over some span.
type Counts struct {
	Attempts int32 // calls that reached the guard
	Rejected int32 // rejected by the guard
	OK       int32 // admitted, answered with success in time
	Failed   int32 // admitted, answered with an error
	TimedOut int32 // admitted, the caller's deadline passed
	Canceled int32 // admitted, the caller went away before its deadline
}

// Admitted is the number of calls the guard let through.
func (c Counts) Admitted() int { return int(c.Attempts - c.Rejected) }

// Wasted is the number of admitted calls that failed, timed out or were
// cancelled: admitted, and no use to their caller.
func (c Counts) Wasted() int { return int(c.Failed + c.TimedOut + c.Canceled) }

// ShedShare is Rejected / Attempts (0 without attempts).
func (c Counts) ShedShare() float64 { return ratio(int(c.Rejected), int(c.Attempts)) }

// SuccessShare is OK / Attempts (0 without attempts).
func (c Counts) SuccessShare() float64 { return ratio(int(c.OK), int(c.Attempts)) }

func (c *Counts) add(o Counts) {
	c.Attempts += o.Attempts
	c.Rejected += o.Rejected
	c.OK += o.OK
	c.Failed += o.Failed
	c.TimedOut += o.TimedOut
	c.Canceled += o.Canceled
}

// UserCounts are user requests over some span, across their retries and
// fallback: offered when they started, served or failed when they ended.
type UserCounts struct {
	Offered, Served, Failed int32
}

// SuccessShare is Served / (Served + Failed) (0 when none ended).
func (u UserCounts) SuccessShare() float64 { return ratio(int(u.Served), int(u.Served+u.Failed)) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Scorecard is one contestant's score on one scenario.
type Scorecard struct {
	Goodput float64 // legit user requests served per second
	Success float64 // share of legit user requests served (after retries and fallback)
	// SuccessIncident is Success over the requests that ended inside the
	// incident window (Success when the scenario has none).
	SuccessIncident float64
	Shed            float64 // share of entry calls the guard rejected
	Wasted          float64 // share of admitted entry calls that failed or timed out
	// WastedCalls counts admitted calls on every route, downstream ones
	// included, that failed or timed out.
	WastedCalls int
	P50, P99    time.Duration // latency of admitted entry calls, as their callers saw it
	// TimeToTrip is from the incident's start to the first bin in which
	// the guard rejected at least half of the watched route's calls; −1
	// when it never did (or the scenario has no incident).
	TimeToTrip time.Duration
	// TimeToRecover is from the incident's end to the start of the first
	// 5 s in which every second shed at most 5 % of the watched route's
	// calls; −1 when that never happened.
	TimeToRecover time.Duration
	// Transitions counts state changes (−1: the guard has no states).
	Transitions int
	// Latched is true when the guard still rejected at least half of the
	// watched route's calls in the run's last 10 s, at least 30 s after
	// the incident ended.
	Latched bool
}

// Result is one run: a scenario against a contestant.
type Result struct {
	Scenario   string
	Contestant string
	Seed       uint64
	Bin        time.Duration // length of a bin of the series
	Duration   time.Duration
	Incident   Window
	Watch      string   // the watched route
	Routes     []string // route IDs, in the scenario's order
	Classes    []string // traffic classes, in order of first appearance
	Legit      []bool   // per class
	// RouteBins are calls per route per bin.
	RouteBins [][]Counts
	// EntryBins are the users' calls (on entry routes) per bin, and
	// PriorityBins the same by priority (critical, high, normal, low, bulk).
	EntryBins    []Counts
	PriorityBins [5][]Counts
	// ClassBins are user requests per class per bin.
	ClassBins [][]UserCounts
	// Probes are the guard's view of the watched route at the end of each
	// bin.
	Probes      []Probe
	Transitions int
	Score       Scorecard
	// DoomedBins counts, per bin, calls whose work started although, when
	// they were admitted, their caller had less time left than the
	// service's own work takes (at its median, with no queue): work no one
	// can use.
	DoomedBins []int32

	latencyUs []int32 // admitted entry calls
	// routeLat holds, per route, the latency of its admitted entry calls
	// with the bin each ended in, in order of their end.
	routeLat [][]latSample
	// bannedBins holds, per route, the bins at whose end the client key
	// its calls carry was banned (guards that ban keys only; see KeyBans).
	bannedBins [][]int32
}

// DoomedStarts counts the doomed calls (DoomedBins) whose work started in w.
func (r *Result) DoomedStarts(w Window) int {
	n := 0
	for i, v := range r.DoomedBins {
		if w.Contains(time.Duration(i) * r.Bin) {
			n += int(v)
		}
	}
	return n
}

// latSample is one admitted entry call's latency (µs) and the bin it
// ended in.
type latSample struct{ bin, us int32 }

func newResult(sc Scenario, seed uint64, classes []string, legit []bool) *Result {
	n := int(sc.Duration / sc.bin())
	r := &Result{
		Scenario: sc.Name, Seed: seed, Bin: sc.bin(), Duration: sc.Duration,
		Incident: sc.Incident, Watch: sc.Watch, Classes: classes, Legit: legit,
		EntryBins: make([]Counts, n), Probes: make([]Probe, n), DoomedBins: make([]int32, n),
	}
	for i := range r.Probes {
		r.Probes[i] = noProbe
	}
	for _, rt := range sc.Routes {
		r.Routes = append(r.Routes, rt.ID)
		r.RouteBins = append(r.RouteBins, make([]Counts, n))
	}
	r.routeLat = make([][]latSample, len(sc.Routes))
	r.bannedBins = make([][]int32, len(sc.Routes))
	for i := range r.PriorityBins {
		r.PriorityBins[i] = make([]Counts, n)
	}
	for range classes {
		r.ClassBins = append(r.ClassBins, make([]UserCounts, n))
	}
	return r
}

// prioIndex maps a priority to 0 (critical) … 4 (bulk).
func prioIndex(p atrion.Priority) int { return min(4, max(0, int(p)+2)) }

// bins returns the index range of bins in w, clamped to the run.
func (r *Result) bins(w Window) (lo, hi int) {
	n := len(r.EntryBins)
	lo = min(n, max(0, int(w.From/r.Bin)))
	hi = min(n, max(lo, int((w.To+r.Bin-1)/r.Bin)))
	return lo, hi
}

func (r *Result) attempt(route int, p atrion.Priority, entry bool, b int) {
	if b >= len(r.EntryBins) {
		return
	}
	r.RouteBins[route][b].Attempts++
	if entry {
		r.EntryBins[b].Attempts++
		r.PriorityBins[prioIndex(p)][b].Attempts++
	}
}

func (r *Result) reject(route int, p atrion.Priority, entry bool, b int) {
	if b >= len(r.EntryBins) {
		return
	}
	r.RouteBins[route][b].Rejected++
	if entry {
		r.EntryBins[b].Rejected++
		r.PriorityBins[prioIndex(p)][b].Rejected++
	}
}

func (c *Counts) count(o Outcome) {
	switch o {
	case Success:
		c.OK++
	case Failure:
		c.Failed++
	case Timeout:
		c.TimedOut++
	default:
		c.Canceled++
	}
}

func (r *Result) outcome(route int, p atrion.Priority, entry bool, o Outcome, lat time.Duration, b int) {
	if b >= len(r.EntryBins) {
		return
	}
	r.RouteBins[route][b].count(o)
	if entry {
		r.EntryBins[b].count(o)
		r.PriorityBins[prioIndex(p)][b].count(o)
		us := int32(min(lat/time.Microsecond, math.MaxInt32))
		r.latencyUs = append(r.latencyUs, us)
		r.routeLat[route] = append(r.routeLat[route], latSample{bin: int32(b), us: us})
	}
}

func (r *Result) banned(route, b int) { r.bannedBins[route] = append(r.bannedBins[route], int32(b)) }

// RoutePercentile returns the q-quantile (0..1) of the latency of route's
// admitted entry calls that ended in w, as their callers saw it (0 when
// none did).
func (r *Result) RoutePercentile(route string, w Window, q float64) time.Duration {
	i := slices.Index(r.Routes, route)
	if i < 0 {
		return 0
	}
	lo, hi := r.bins(w)
	var us []int32
	for _, s := range r.routeLat[i] {
		if int(s.bin) >= lo && int(s.bin) < hi {
			us = append(us, s.us)
		}
	}
	slices.Sort(us)
	return percentile(us, q)
}

// BannedFor returns how long, in w, the client key route's calls carry
// was banned, as seen at the end of each bin (0 for guards that ban no
// keys).
func (r *Result) BannedFor(route string, w Window) time.Duration {
	i := slices.Index(r.Routes, route)
	if i < 0 {
		return 0
	}
	lo, hi := r.bins(w)
	n := 0
	for _, b := range r.bannedBins[i] {
		if int(b) >= lo && int(b) < hi {
			n++
		}
	}
	return time.Duration(n) * r.Bin
}

func (r *Result) offered(class, b int) {
	if b < len(r.EntryBins) {
		r.ClassBins[class][b].Offered++
	}
}

func (r *Result) finished(class int, ok bool, _ time.Duration, b int) {
	if b >= len(r.EntryBins) {
		return
	}
	if ok {
		r.ClassBins[class][b].Served++
	} else {
		r.ClassBins[class][b].Failed++
	}
}

func sumCounts(bins []Counts, lo, hi int) (c Counts) {
	for _, v := range bins[lo:hi] {
		c.add(v)
	}
	return c
}

// Route returns route's calls in w (zero Counts for an unknown route).
func (r *Result) Route(route string, w Window) Counts {
	i := slices.Index(r.Routes, route)
	if i < 0 {
		return Counts{}
	}
	lo, hi := r.bins(w)
	return sumCounts(r.RouteBins[i], lo, hi)
}

// Entry returns the users' calls in w.
func (r *Result) Entry(w Window) Counts {
	lo, hi := r.bins(w)
	return sumCounts(r.EntryBins, lo, hi)
}

// Priority returns the users' calls at priority p in w.
func (r *Result) Priority(p atrion.Priority, w Window) Counts {
	lo, hi := r.bins(w)
	return sumCounts(r.PriorityBins[prioIndex(p)], lo, hi)
}

// Class returns class's user requests in w.
func (r *Result) Class(class string, w Window) (u UserCounts) {
	i := slices.Index(r.Classes, class)
	if i < 0 {
		return u
	}
	lo, hi := r.bins(w)
	for _, v := range r.ClassBins[i][lo:hi] {
		u.Offered += v.Offered
		u.Served += v.Served
		u.Failed += v.Failed
	}
	return u
}

// All is the whole run.
func (r *Result) All() Window { return Window{0, r.Duration} }

// RouteSeries returns route's calls per bin (nil for an unknown route).
func (r *Result) RouteSeries(route string) []Counts {
	i := slices.Index(r.Routes, route)
	if i < 0 {
		return nil
	}
	return r.RouteBins[i]
}

// PrioritySeries returns the users' calls at priority p per bin.
func (r *Result) PrioritySeries(p atrion.Priority) []Counts { return r.PriorityBins[prioIndex(p)] }

// First returns the start of the first bin of series in w whose counts
// satisfy ok, or −1.
func (r *Result) First(series []Counts, w Window, ok func(Counts) bool) time.Duration {
	lo, hi := r.bins(w)
	hi = min(hi, len(series))
	for b := lo; b < hi; b++ {
		if ok(series[b]) {
			return time.Duration(b) * r.Bin
		}
	}
	return -1
}

// Sheds reports whether a bin's guard rejected at least share of its
// calls.
func Sheds(share float64) func(Counts) bool {
	return func(c Counts) bool { return c.Attempts > 0 && float64(c.Rejected) >= share*float64(c.Attempts) }
}

// Recovered returns the start of the first 5 s after from in which every
// second shed at most 5 % of route's calls, or −1.
func (r *Result) Recovered(route string, from time.Duration) time.Duration {
	i := slices.Index(r.Routes, route)
	if i < 0 {
		return -1
	}
	bins := r.RouteBins[i]
	perSec := int(time.Second / r.Bin)
	lo, _ := r.bins(Window{from, from})
	for b := lo; b+5*perSec <= len(bins); b++ {
		ok := true
		for k := range 5 {
			if sumCounts(bins, b+k*perSec, b+(k+1)*perSec).ShedShare() > 0.05 {
				ok = false
				break
			}
		}
		if ok {
			return time.Duration(b) * r.Bin
		}
	}
	return -1
}

// Percentile returns the q-quantile (0..1) of admitted entry calls'
// latency.
func (r *Result) Percentile(q float64) time.Duration {
	return percentile(r.latencyUs, q)
}

func percentile(us []int32, q float64) time.Duration {
	if len(us) == 0 {
		return 0
	}
	i := min(len(us)-1, int(q*float64(len(us))))
	return time.Duration(us[i]) * time.Microsecond
}

// legitUsers sums the legit classes' user requests in w.
func (r *Result) legitUsers(w Window) (u UserCounts) {
	for i, c := range r.Classes {
		if r.Legit[i] {
			v := r.Class(c, w)
			u.Offered += v.Offered
			u.Served += v.Served
			u.Failed += v.Failed
		}
	}
	return u
}

// score fills the scorecard.
func (r *Result) score(sc *Scenario) {
	all := r.All()
	legit := r.legitUsers(all)
	inc := legit
	if sc.Incident != (Window{}) {
		inc = r.legitUsers(sc.Incident)
	}
	e := r.Entry(all)
	var wasted int
	for i := range r.Routes {
		wasted += sumCounts(r.RouteBins[i], 0, len(r.RouteBins[i])).Wasted()
	}
	slices.Sort(r.latencyUs)
	s := Scorecard{
		Goodput:         float64(legit.Served) / r.Duration.Seconds(),
		Success:         legit.SuccessShare(),
		SuccessIncident: inc.SuccessShare(),
		Shed:            e.ShedShare(),
		Wasted:          ratio(e.Wasted(), e.Admitted()),
		WastedCalls:     wasted,
		P50:             r.Percentile(0.50),
		P99:             r.Percentile(0.99),
		TimeToTrip:      -1,
		TimeToRecover:   -1,
		Transitions:     r.Transitions,
	}
	if sc.Incident != (Window{}) {
		if t := r.First(r.RouteSeries(r.Watch), Window{sc.Incident.From, r.Duration}, Sheds(0.5)); t >= 0 {
			s.TimeToTrip = t - sc.Incident.From
		}
		if t := r.Recovered(r.Watch, sc.Incident.To); t >= 0 {
			s.TimeToRecover = t - sc.Incident.To
		}
		tail := r.Route(r.Watch, Window{r.Duration - 10*time.Second, r.Duration})
		s.Latched = r.Duration-sc.Incident.To >= 30*time.Second && tail.Attempts > 0 && 2*tail.Rejected >= tail.Attempts
	}
	r.Score = s
}
