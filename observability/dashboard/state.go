package atrdash

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// State is the dashboard's view of the engine: what /api/state returns and
// what every /events frame carries.
type State struct {
	Title      string    `json:"title"`
	Time       time.Time `json:"time"`       // when the sample was taken
	IntervalMs int64     `json:"intervalMs"` // time between frames
	HistoryLen int       `json:"historyLen"` // R points kept per route
	Controls   bool      `json:"controls"`   // WithControls is on
	// Routes are the WithTopRoutes routes of highest R (ties by route
	// ID), sorted by route ID; Others sums up the rest.
	Routes      []RouteState `json:"routes"`
	Others      Summary      `json:"others"`
	Transitions []Transition `json:"transitions"`
	Engine      atrion.Stats `json:"engine"`
}

// Summary sums up the routes a State does not carry in full.
type Summary struct {
	Routes int            `json:"routes"`
	Modes  map[string]int `json:"modes,omitempty"` // routes by mode
	MaxR   float64        `json:"maxR"`            // the highest R among them
	Rates  Rates          `json:"rates"`           // their rates, summed
}

// RouteState is one route in State. Rates are per second of wall time,
// computed from the cumulative totals of two samples.
type RouteState struct {
	Route         string     `json:"route"`
	Mode          string     `json:"mode"`
	Resistance    float64    `json:"r"`
	Scar          float64    `json:"scar"`
	Momentum      float64    `json:"momentum"`
	Pressure      [3]float64 `json:"pressure"` // latency, error, saturation
	PositiveNorm  float64    `json:"posNorm"`  // ‖P⁺‖
	BreakPoint    float64    `json:"break"`    // in force
	RecoveryPoint float64    `json:"recovery"` // in force
	Tuner         Tuner      `json:"tuner"`
	// InFlight and Limit are the route's requests in flight and its
	// in-flight limit (0: none yet); LatencyFloor its learned no-load
	// latency in ms; ErrorRate the share of the last window's calls that
	// failed. They say why a route sheds when its circuit is closed.
	InFlight     float64 `json:"inflight"`
	Limit        float64 `json:"limit"`
	LatencyFloor float64 `json:"floorMs"`
	ErrorRate    float64 `json:"errorRate"`
	Rates        Rates   `json:"rates"`
	Totals       Totals  `json:"totals"`
	Ticks        uint64  `json:"ticks"`
	// History is R over time, oldest first. Only /api/state, the first
	// frame of a stream and the first frame that shows the route carry
	// it; later frames carry the new point in Resistance and Mode.
	History []Point `json:"history,omitempty"`
}

// Tuner is a route's AutoTuner state.
type Tuner struct {
	Mean     float64 `json:"mean"`
	StdDev   float64 `json:"stddev"`
	Samples  int     `json:"samples"`
	Break    float64 `json:"break"`
	Recovery float64 `json:"recovery"`
	Enforced bool    `json:"enforced"`
}

// Rates are per-second rates over the last sampling interval.
type Rates struct {
	Served   float64 `json:"served"` // admitted and succeeded
	Admitted float64 `json:"admitted"`
	Shed     float64 `json:"shed"`
	Failed   float64 `json:"failed"`
}

// Totals are a route's cumulative counters.
type Totals struct {
	Admitted  uint64 `json:"admitted"`
	Shed      uint64 `json:"shed"`
	Successes uint64 `json:"successes"`
	Failures  uint64 `json:"failures"`
	Ignored   uint64 `json:"ignored"`
}

// Point is one sample of R: T in Unix milliseconds, M the mode's number
// (0 BOOTSTRAP, 1 OPERATIONAL, 2 RECOVERING, 3 CIRCUIT_OPEN).
type Point struct {
	T int64   `json:"t"`
	R float64 `json:"r"`
	M uint8   `json:"m"`
}

// track is what the sampler remembers of one route between samples.
type track struct {
	prev      atrion.Totals
	prevAt    time.Time
	rates     Rates
	mode      atrion.Mode
	hist      []Point // ring
	next      int
	full      bool
	lastPoint time.Time
	gen       uint64
}

func (t *track) push(p Point) {
	t.hist[t.next] = p
	t.next++
	if t.next == len(t.hist) {
		t.next, t.full = 0, true
	}
}

// points returns the history oldest first.
func (t *track) points() []Point {
	if !t.full {
		return slices.Clone(t.hist[:t.next])
	}
	return append(slices.Clone(t.hist[t.next:]), t.hist[:t.next]...)
}

// sample takes a new sample when the last one is older than half an
// interval, or when force is set. The engine's snapshots, most of the
// work with many routes, are taken without holding d.mu, so that clients
// coming and going meanwhile never wait on them.
func (d *Dashboard) sample(force bool) {
	d.sampling.Lock()
	defer d.sampling.Unlock()
	d.mu.Lock()
	stale := force || time.Since(d.lastAt) >= d.cfg.interval/2
	d.mu.Unlock()
	if !stale {
		return
	}
	snaps := d.a.Snapshots()
	d.mu.Lock()
	d.applyLocked(time.Now(), snaps)
	d.mu.Unlock()
}

// sampleLocked samples at now. Caller holds d.mu.
func (d *Dashboard) sampleLocked(now time.Time) { d.applyLocked(now, d.a.Snapshots()) }

// applyLocked updates rates, history and (without a Recorder) transitions
// from snaps, taken at now, and stores in d.last the routes of highest R
// with a summary of the others. Caller holds d.mu.
func (d *Dashboard) applyLocked(now time.Time, snaps []atrion.RouteSnapshot) {
	d.gen++
	half := d.cfg.interval / 2
	shown := snaps[:0]
	var others Summary
	for _, s := range snaps {
		if s.Route == atrion.OverflowRoute && s.Totals.Decisions == 0 {
			continue // shown only once something fell into it
		}
		tr := d.tracks[s.Route]
		switch {
		case tr == nil:
			tr = &track{prev: s.Totals, prevAt: now, mode: s.Mode, hist: make([]Point, d.cfg.history)}
			d.tracks[s.Route] = tr
		case now.Sub(tr.prevAt) >= half:
			tr.rates = rates(tr.prev, s.Totals, now.Sub(tr.prevAt))
			tr.prev, tr.prevAt = s.Totals, now
		}
		if d.cfg.recorder == nil && s.Mode != tr.mode {
			d.own.add(Transition{Time: now, Route: s.Route, From: tr.mode.String(), To: s.Mode.String(),
				Resistance: num(s.Resistance), Scar: num(s.Scar)})
		}
		tr.mode, tr.gen = s.Mode, d.gen
		if now.Sub(tr.lastPoint) >= half {
			tr.push(Point{T: now.UnixMilli(), R: num(s.Resistance), M: uint8(min(s.Mode, 255))})
			tr.lastPoint = now
		}
		shown = append(shown, s)
	}
	for id, tr := range d.tracks {
		if tr.gen != d.gen {
			delete(d.tracks, id) // evicted
		}
	}
	// the routes of highest R in full, the others summed up
	slices.SortFunc(shown, func(x, y atrion.RouteSnapshot) int {
		if c := cmp.Compare(y.Resistance, x.Resistance); c != 0 {
			return c
		}
		return strings.Compare(x.Route, y.Route)
	})
	if len(shown) > d.cfg.top {
		others.Modes = map[string]int{}
		for _, s := range shown[d.cfg.top:] {
			others.Routes++
			others.Modes[s.Mode.String()]++
			others.MaxR = max(others.MaxR, num(s.Resistance))
			r := d.tracks[s.Route].rates
			others.Rates.Admitted += r.Admitted
			others.Rates.Shed += r.Shed
			others.Rates.Failed += r.Failed
		}
		others.Rates = Rates{Admitted: num(others.Rates.Admitted), Shed: num(others.Rates.Shed), Failed: num(others.Rates.Failed)}
		shown = shown[:d.cfg.top]
	}
	slices.SortFunc(shown, func(x, y atrion.RouteSnapshot) int { return strings.Compare(x.Route, y.Route) })
	routes := make([]RouteState, len(shown))
	for i, s := range shown {
		routes[i] = routeState(s, d.tracks[s.Route].rates)
	}
	d.last = State{
		Title: d.cfg.title, Time: now, IntervalMs: d.cfg.interval.Milliseconds(), HistoryLen: d.cfg.history,
		Controls: d.ControlsEnabled(), Routes: routes, Others: others, Engine: d.a.Stats(),
	}
	d.lastAt = now
}

// historyLocked fills in the history of st's routes for which shown(route)
// is false. Caller holds d.mu.
func (d *Dashboard) historyLocked(st *State, shown func(route string) bool) {
	for i := range st.Routes {
		if tr := d.tracks[st.Routes[i].Route]; tr != nil && !shown(st.Routes[i].Route) {
			st.Routes[i].History = tr.points()
		}
	}
}

func routeState(s atrion.RouteSnapshot, r Rates) RouteState {
	t := s.Totals
	return RouteState{
		Route: s.Route, Mode: s.Mode.String(),
		Resistance: num(s.Resistance), Scar: num(s.Scar), Momentum: num(s.Momentum),
		Pressure:     [3]float64{num(s.Pressure[0]), num(s.Pressure[1]), num(s.Pressure[2])},
		PositiveNorm: num(s.PositiveNorm), BreakPoint: num(s.BreakPoint), RecoveryPoint: num(s.RecoveryPoint),
		Tuner: Tuner{
			Mean: num(s.Tuner.Mean), StdDev: num(s.Tuner.StdDev), Samples: s.Tuner.Samples,
			Break: num(s.Tuner.Break), Recovery: num(s.Tuner.Recovery), Enforced: s.Tuner.Enforced,
		},
		InFlight: num(s.InFlight), Limit: num(s.Limit),
		LatencyFloor: num(float64(s.LatencyFloor) / 1e6), ErrorRate: num(s.ErrorRate),
		Rates:  r,
		Totals: Totals{Admitted: t.Admitted, Shed: t.Rejected.Total(), Successes: t.Successes, Failures: t.Failures, Ignored: t.Ignored},
		Ticks:  s.Ticks,
	}
}

// rates turns two cumulative samples dt apart into per-second rates. A
// counter that went backwards (the route was evicted and came back) reads
// as zero.
func rates(prev, cur atrion.Totals, dt time.Duration) Rates {
	sec := dt.Seconds()
	per := func(a, b uint64) float64 {
		if b < a || sec <= 0 {
			return 0
		}
		return num(float64(b-a) / sec)
	}
	return Rates{
		Served:   per(prev.Successes, cur.Successes),
		Admitted: per(prev.Admitted, cur.Admitted),
		Shed:     per(prev.Rejected.Total(), cur.Rejected.Total()),
		Failed:   per(prev.Failures, cur.Failures),
	}
}

// num rounds x to three decimals for the wire and maps a non-finite value
// (which JSON cannot carry) to 0.
func num(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	if math.Abs(x) > 1e15 {
		return x
	}
	return math.Round(x*1000) / 1000
}
