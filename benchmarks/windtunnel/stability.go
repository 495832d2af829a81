package windtunnel

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// This file is the stability map (SPEC §8): Atrion's physics swept over
// decay × scar factor × damping under a truly oscillating input, each cell
// classified.

// StabilityClass is how a parameter cell behaves under the oscillating
// input.
type StabilityClass uint8

// Stability classes, from best to worst as reported.
const (
	Stable   StabilityClass = iota // trips in bad phases, heals in good ones, settles after
	Flapping                       // re-opens again and again within a bad phase
	Sluggish                       // trips late or rarely, or heals late
	Latched                        // still shedding long after the input healed
)

var classNames = [...]string{"stable", "flapping", "sluggish", "latched"}

// String returns stable, flapping, sluggish or latched.
func (c StabilityClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "invalid"
}

// Letter is the class's one-letter code in the printed map.
func (c StabilityClass) Letter() string { return string("SFGL"[min(int(c), 3)]) }

// The oscillating input: a dependency fails nine calls in ten for 10 s
// (a failure a circuit must act on: Atrion opens only when four calls in
// five fail), then is healthy for 10 s, six times from 20 s; then it stays
// healthy for 60 s.
const (
	oscStart   = 20 * time.Second
	oscHalf    = 10 * time.Second
	oscCycles  = 6
	oscTail    = 60 * time.Second
	oscEnd     = oscStart + 2*oscHalf*oscCycles
	oscTripBy  = 3 * time.Second  // a timely trip happens this soon into a bad phase
	oscHealBy  = 30 * time.Second // a timely recovery, after the input ends
	oscReopens = 2.0              // open episodes per bad phase beyond which it flaps
)

// StabilityScenario is the stability map's input: 100 rps on a dependency
// whose error rate is a square wave (90 % for 10 s, 0 for 10 s, six
// cycles), then a healthy minute.
func StabilityScenario() Scenario {
	return Scenario{
		Name: "stability", Title: "Stability input (square wave)", Kind: Fault,
		About:    "90 % errors for 10 s, healthy for 10 s, six times; then healthy for a minute.",
		Duration: oscEnd + oscTail, Incident: Window{oscStart, oscEnd}, Watch: "GET /osc",
		Services: []Service{{Name: "osc", Capacity: 50, Health: func(t time.Duration) Health {
			h := Healthy(40 * ms)
			if t >= oscStart && t < oscEnd && (t-oscStart)%(2*oscHalf) < oscHalf {
				h.ErrorRate = 0.9
			}
			return h
		}}},
		Routes:  []Route{{ID: "GET /osc", Service: "osc", Timeout: sec}},
		Traffic: []Traffic{openLoop("users", Flat(100), "GET /osc")},
	}
}

// Cell is one point of the stability map.
type Cell struct {
	Decay, Scar, Damping float64 // λ (1/s), σ, μ (s)
	Class                StabilityClass
	TimelyTrips          int           // bad phases tripped within 3 s of onset
	OpensPerBad          float64       // open episodes per bad phase
	GoodShed             float64       // shed share during the healthy phases
	Recover              time.Duration // after the input ends; −1: never
	Transitions          int
}

// classify reads a run of the stability input.
func classify(r *Result) Cell {
	var c Cell
	series := r.RouteSeries(r.Watch)
	opens := 0
	var good Counts
	for k := range oscCycles {
		bad := Window{oscStart + time.Duration(2*k)*oscHalf, oscStart + time.Duration(2*k+1)*oscHalf}
		if t := r.First(series, bad, Sheds(0.5)); t >= 0 && t-bad.From <= oscTripBy {
			c.TimelyTrips++
		}
		lo, hi := r.bins(bad)
		for b := max(lo, 1); b < hi; b++ {
			if r.Probes[b].State == StateOpen && r.Probes[b-1].State != StateOpen {
				opens++
			}
		}
		good.add(r.Route(r.Watch, Window{bad.To, bad.To + oscHalf}))
	}
	c.OpensPerBad = float64(opens) / oscCycles
	c.GoodShed = good.ShedShare()
	c.Recover = r.Score.TimeToRecover
	c.Transitions = r.Transitions
	switch {
	case r.Score.Latched:
		c.Class = Latched
	case c.OpensPerBad > oscReopens:
		c.Class = Flapping
	case 2*c.TimelyTrips < oscCycles || c.Recover < 0 || c.Recover > oscHealBy || c.GoodShed > 0.5:
		c.Class = Sluggish
	default:
		c.Class = Stable
	}
	return c
}

// StabilityGrid is the swept parameter space.
type StabilityGrid struct {
	Decays, Scars, Dampings []float64
}

// DefaultGrid spans the defaults (λ 0.1, σ 5, μ 0.02) by a factor of 20 to
// 50 each way, and damping from none to ten times the default.
var DefaultGrid = StabilityGrid{
	Decays:   []float64{0.02, 0.05, 0.1, 0.2, 0.5, 1, 2},
	Scars:    []float64{1, 2, 5, 10, 20, 50},
	Dampings: []float64{0, 0.02, 0.2},
}

// orExplicitZero turns 0 into atrion.ExplicitZero (a zero field means
// "default" in PhysicsConfig).
func orExplicitZero(v float64) float64 {
	if v == 0 {
		return atrion.ExplicitZero
	}
	return v
}

// StabilityMap runs the stability input once per cell of g (in parallel,
// each run deterministic) and classifies each. Cells are ordered by
// damping, then decay, then scar factor.
func StabilityMap(g StabilityGrid, seed uint64) ([]Cell, error) {
	sc := StabilityScenario()
	type job struct {
		i         int
		d, s, dmp float64
	}
	var jobs []job
	for _, dmp := range g.Dampings {
		for _, d := range g.Decays {
			for _, s := range g.Scars {
				jobs = append(jobs, job{len(jobs), d, s, dmp})
			}
		}
	}
	cells := make([]Cell, len(jobs))
	errs := make([]error, len(jobs))
	ch := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				c := AtrionWith("atrion", "", atrion.WithPhysics(atrion.PhysicsConfig{
					DecayRate: orExplicitZero(j.d), ScarFactor: orExplicitZero(j.s), DampingFactor: orExplicitZero(j.dmp),
				}))
				r, err := Simulate(sc, c, seed)
				if err != nil {
					errs[j.i] = err
					continue
				}
				cell := classify(r)
				cell.Decay, cell.Scar, cell.Damping = j.d, j.s, j.dmp
				cells[j.i] = cell
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return cells, nil
}

// isDefault reports whether c is the default physics.
func (c Cell) isDefault() bool { return c.Decay == 0.1 && c.Scar == 5 && c.Damping == 0.02 }

// WriteStabilityMap prints the map: one grid per damping, rows decay,
// columns scar factor, each cell its class letter (S stable, F flapping,
// G sluggish, L latched); the default cell is bracketed.
func WriteStabilityMap(w io.Writer, g StabilityGrid, cells []Cell) {
	i := 0
	for _, dmp := range g.Dampings {
		fmt.Fprintf(w, "damping μ = %g s\n%10s", dmp, "λ \\ σ")
		for _, s := range g.Scars {
			fmt.Fprintf(w, "%6g", s)
		}
		fmt.Fprintln(w)
		for _, d := range g.Decays {
			fmt.Fprintf(w, "%10g", d)
			for range g.Scars {
				c := cells[i]
				i++
				l := c.Class.Letter()
				if c.isDefault() {
					l = "[" + l + "]"
				}
				fmt.Fprintf(w, "%6s", l)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	n := map[StabilityClass]int{}
	for _, c := range cells {
		n[c.Class]++
	}
	fmt.Fprintf(w, "S stable %d · F flapping %d · G sluggish %d · L latched %d (of %d)\n", n[Stable], n[Flapping], n[Sluggish], n[Latched], len(cells))
}

var classColours = [...]string{"#b7e4c7", "#ffd166", "#9ecae1", "#ef476f"}

// WriteStabilitySVG draws the map as a heat map, one grid per damping.
func WriteStabilitySVG(w io.Writer, g StabilityGrid, cells []Cell) error {
	const cw, ch, left, top, gap = 46.0, 30.0, 70.0, 70.0, 60.0
	gridW := cw * float64(len(g.Scars))
	width := left + float64(len(g.Dampings))*(gridW+gap) + 10
	height := top + ch*float64(len(g.Decays)) + 90
	s := &svg{w: bufio.NewWriter(w)}
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n", width, height, width, height)
	s.f("<style>.t{font-size:15px;font-weight:bold}.l{font-size:11px;fill:#333}.a{font-size:10px;fill:#666}.c{font-size:12px;font-weight:bold;fill:#222}</style>\n")
	s.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	s.text(left, 22, "start", "t", "Atrion stability map: decay λ × scar factor σ × damping μ (square-wave input)")
	i := 0
	for k, dmp := range g.Dampings {
		x0 := left + float64(k)*(gridW+gap)
		s.text(x0+gridW/2, top-28, "middle", "l", fmt.Sprintf("damping μ = %g s", dmp))
		for j, sv := range g.Scars {
			s.text(x0+cw*float64(j)+cw/2, top-8, "middle", "a", fmt.Sprintf("σ %g", sv))
		}
		for r, d := range g.Decays {
			y := top + ch*float64(r)
			if k == 0 {
				s.text(x0-8, y+ch/2+4, "end", "a", fmt.Sprintf("λ %g", d))
			}
			for j := range g.Scars {
				c := cells[i]
				i++
				x := x0 + cw*float64(j)
				stroke := "white"
				if c.isDefault() {
					stroke = "#000"
				}
				s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="2"><title>λ %g σ %g μ %g: %s, %.1f opens per bad phase, %d/%d timely trips, %.0f%% shed when healthy, recovery %s</title></rect>`+"\n",
					x, y, cw, ch, classColours[c.Class], stroke, c.Decay, c.Scar, c.Damping, c.Class, c.OpensPerBad, c.TimelyTrips, oscCycles, 100*c.GoodShed, fmtDur(c.Recover))
				s.text(x+cw/2, y+ch/2+4, "middle", "c", c.Class.Letter())
			}
		}
	}
	ly := top + ch*float64(len(g.Decays)) + 30
	for c := Stable; c <= Latched; c++ {
		x := left + 130*float64(c)
		s.f(`<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", x, ly, classColours[c])
		s.text(x+20, ly+11, "start", "l", c.Letter()+" "+c.String())
	}
	s.text(left, ly+36, "start", "a", "Black outline: the defaults (λ 0.1, σ 5, μ 0.02). Latched: still shedding a minute after the input healed; flapping: > 2 opens per bad phase;")
	s.text(left, ly+50, "start", "a", "sluggish: trips late (> 3 s) in most bad phases, sheds most of the healthy phases, or heals > 30 s after the input ends.")
	s.f("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}
