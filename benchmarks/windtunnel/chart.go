package windtunnel

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// This file draws SVG charts by hand: no plotting dependency.

// palette gives each contestant a stable colour, in Contestants order.
var palette = []string{"#7f7f7f", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

var stateColours = map[State]string{
	StateWarmup:   "#c7c7c7",
	StateClosed:   "#b7e4c7",
	StateHalfOpen: "#ffd166",
	StateOpen:     "#ef476f",
}

const (
	chartW     = 980.0
	chartLeft  = 110.0
	chartRight = 170.0
	plotW      = chartW - chartLeft - chartRight
)

// svg is a small SVG writer that remembers its first error.
type svg struct {
	w   *bufio.Writer
	err error
}

func (s *svg) f(format string, a ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, a...)
	}
}

func (s *svg) text(x, y float64, anchor, class, t string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`+"\n", x, y, anchor, class, html.EscapeString(t))
}

func (s *svg) polyline(pts []float64, colour string, width float64, dash bool) {
	if len(pts) < 4 {
		return
	}
	var sb strings.Builder
	for i := 0; i+1 < len(pts); i += 2 {
		fmt.Fprintf(&sb, "%.1f,%.1f ", pts[i], pts[i+1])
	}
	d := ""
	if dash {
		d = ` stroke-dasharray="5,4"`
	}
	s.f(`<polyline fill="none" stroke="%s" stroke-width="%.1f"%s points="%s"/>`+"\n", colour, width, d, strings.TrimSpace(sb.String()))
}

func svgHeader(s *svg, h float64, title string) {
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n", chartW, h, chartW, h)
	s.f("<style>.t{font-size:15px;font-weight:bold}.l{font-size:11px;fill:#333}.a{font-size:10px;fill:#666}</style>\n")
	s.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	s.text(chartLeft, 22, "start", "t", title)
}

// panel is one plot area of a chart, sharing the time axis.
type panel struct {
	top, h float64
	dur    time.Duration
}

func (p panel) x(t time.Duration) float64 { return chartLeft + plotW*float64(t)/float64(p.dur) }

// y maps v in [0, max] to the panel, top = max.
func (p panel) y(v, vmax float64) float64 {
	v = math.Max(0, math.Min(v, vmax))
	return p.top + p.h - p.h*v/vmax
}

func (p panel) frame(s *svg, label string, incident Window, ticks []float64, vmax float64, format func(float64) string) {
	if incident != (Window{}) {
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f2f2f2"/>`+"\n",
			p.x(incident.From), p.top, p.x(incident.To)-p.x(incident.From), p.h)
	}
	s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", chartLeft, p.top, plotW, p.h)
	for _, v := range ticks {
		y := p.y(v, vmax)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", chartLeft, chartLeft+plotW, y, y)
		s.text(chartLeft-6, y+3, "end", "a", format(v))
	}
	s.f(`<text x="%.1f" y="%.1f" class="l" transform="rotate(-90 %.1f %.1f)" text-anchor="middle">%s</text>`+"\n",
		chartLeft-50, p.top+p.h/2, chartLeft-50, p.top+p.h/2, html.EscapeString(label))
}

func timeAxis(s *svg, p panel) {
	step := 10 * time.Second
	if p.dur > 200*time.Second {
		step = 30 * time.Second
	}
	for t := time.Duration(0); t <= p.dur; t += step {
		x := p.x(t)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x, x, p.top+p.h, p.top+p.h+4)
		s.text(x, p.top+p.h+16, "middle", "a", fmt.Sprintf("%.0fs", t.Seconds()))
	}
}

// niceMax rounds v up to 1, 2 or 5 × a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

// WriteChart draws one scenario's runs: Atrion's resistance and break
// point, each contestant's state band, the share of the watched route's
// calls each one shed, and the legit requests each one served per second.
// The incident is shaded.
func WriteChart(w io.Writer, sc Scenario, results []*Result) error {
	s := &svg{w: bufio.NewWriter(w)}
	var banded []*Result
	var atr *Result
	for _, r := range results {
		for _, p := range r.Probes {
			if p.State != StateNone {
				banded = append(banded, r)
				break
			}
		}
		if r.Contestant == Atrion.Name {
			atr = r
		}
	}
	rP := panel{top: 40, h: 150, dur: sc.Duration}
	bandTop := rP.top + rP.h + 30
	bandH := 16.0
	shedP := panel{top: bandTop + bandH*float64(len(banded)) + 30, h: 130, dur: sc.Duration}
	servP := panel{top: shedP.top + shedP.h + 30, h: 130, dur: sc.Duration}
	height := servP.top + servP.h + 40
	svgHeader(s, height, fmt.Sprintf("%s — %s (seed %d)", sc.Title, sc.Watch, firstSeed(results)))

	// resistance
	if atr != nil {
		rmax := 0.0
		for _, p := range atr.Probes {
			if !math.IsNaN(p.R) {
				rmax = math.Max(rmax, math.Max(p.R, p.Break))
			}
		}
		rmax = niceMax(rmax * 1.05)
		rP.frame(s, "Atrion R (Ω)", sc.Incident, []float64{0, rmax / 2, rmax}, rmax, func(v float64) string { return fmt.Sprintf("%.0f", v) })
		var rs, bs []float64
		for i, p := range atr.Probes {
			t := time.Duration(i+1) * atr.Bin
			if !math.IsNaN(p.R) {
				rs = append(rs, rP.x(t), rP.y(p.R, rmax))
				bs = append(bs, rP.x(t), rP.y(p.Break, rmax))
			}
		}
		s.polyline(bs, "#555", 1, true)
		s.polyline(rs, palette[1], 1.5, false)
		s.text(chartLeft+plotW+8, rP.top+12, "start", "l", "— R")
		s.text(chartLeft+plotW+8, rP.top+26, "start", "l", "- - break point")
	}

	// state bands
	for i, r := range banded {
		y := bandTop + bandH*float64(i)
		start := 0
		for b := 1; b <= len(r.Probes); b++ {
			if b < len(r.Probes) && r.Probes[b].State == r.Probes[start].State {
				continue
			}
			if c, ok := stateColours[r.Probes[start].State]; ok {
				x0 := rP.x(time.Duration(start) * r.Bin)
				x1 := rP.x(time.Duration(b) * r.Bin)
				s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x0, y, x1-x0, bandH-3, c)
			}
			start = b
		}
		s.text(chartLeft-6, y+bandH-6, "end", "a", r.Contestant)
	}
	if len(banded) > 0 {
		x := chartLeft + plotW + 8
		for i, st := range []State{StateWarmup, StateClosed, StateHalfOpen, StateOpen} {
			y := bandTop + 13*float64(i)
			s.f(`<rect x="%.1f" y="%.1f" width="10" height="9" fill="%s"/>`+"\n", x, y, stateColours[st])
			s.text(x+14, y+8, "start", "a", st.String())
		}
	}

	// shed share and served per second
	shedP.frame(s, "shed share", sc.Incident, []float64{0, 0.5, 1}, 1, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
	servMax := 0.0
	for _, r := range results {
		for _, v := range servedPerSecond(r) {
			servMax = math.Max(servMax, v)
		}
	}
	servMax = niceMax(servMax * 1.05)
	servP.frame(s, "served / s", sc.Incident, []float64{0, servMax / 2, servMax}, servMax, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	for i, r := range results {
		colour := contestantColour(r.Contestant, i)
		series := r.RouteSeries(r.Watch)
		per := max(1, int(500*time.Millisecond/r.Bin))
		var pts []float64
		for b := 0; b+per <= len(series); b += per {
			c := sumCounts(series, b, b+per)
			if c.Attempts == 0 {
				continue
			}
			pts = append(pts, shedP.x(time.Duration(b+per)*r.Bin), shedP.y(c.ShedShare(), 1))
		}
		s.polyline(pts, colour, 1.3, false)
		pts = pts[:0]
		for k, v := range servedPerSecond(r) {
			pts = append(pts, servP.x(time.Duration(k+1)*time.Second), servP.y(v, servMax))
		}
		s.polyline(pts, colour, 1.3, false)
		y := shedP.top + 12 + 14*float64(i)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", chartLeft+plotW+8, chartLeft+plotW+24, y-4, y-4, colour)
		s.text(chartLeft+plotW+28, y, "start", "l", r.Contestant)
	}
	timeAxis(s, servP)
	s.f("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

func firstSeed(rs []*Result) uint64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Seed
}

// contestantColour is the colour of a contestant of Contestants, else
// of its position.
func contestantColour(name string, i int) string {
	for k, c := range Contestants() {
		if c.Name == name {
			return palette[k%len(palette)]
		}
	}
	return palette[i%len(palette)]
}

// servedPerSecond is the legit user requests served in each second.
func servedPerSecond(r *Result) []float64 {
	per := int(time.Second / r.Bin)
	n := len(r.EntryBins) / per
	out := make([]float64, n)
	for i := range r.Classes {
		if !r.Legit[i] {
			continue
		}
		for k := range n {
			for _, v := range r.ClassBins[i][k*per : (k+1)*per] {
				out[k] += float64(v.Served)
			}
		}
	}
	return out
}
