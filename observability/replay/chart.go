package atrreplay

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// The chart: hand-drawn SVG, as the Wind Tunnel draws its own, with no
// plotting dependency. One panel per route: each run's admitted (solid)
// and shed (dashed) requests per second, and under it a band per run
// coloured by the route's mode.

var (
	runColours  = []string{"#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}
	modeColours = map[atrion.Mode]string{
		atrion.ModeBootstrap:   "#c7c7c7",
		atrion.ModeOperational: "#b7e4c7",
		atrion.ModeRecovering:  "#ffd166",
		atrion.ModeCircuitOpen: "#ef476f",
	}
)

// MaxChartRoutes bounds the routes WriteChart draws: the busiest ones.
const MaxChartRoutes = 12

const (
	cW, cLeft, cRight = 980.0, 120.0, 170.0
	cPlot             = cW - cLeft - cRight
	cPanel, cBand     = 120.0, 12.0
)

// chart builds the SVG in memory (a bounded size: MaxChartRoutes panels
// of at most 600 points per line), written with one Write at the end.
type chart struct{ b bytes.Buffer }

func (c *chart) p(format string, a ...any) { fmt.Fprintf(&c.b, format, a...) }

func (c *chart) label(x, y float64, anchor, class, s string) {
	c.p(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`+"\n", x, y, anchor, class, html.EscapeString(s))
}

func (c *chart) line(pts [][2]float64, colour string, dashed bool) {
	if len(pts) < 2 {
		return
	}
	var sb strings.Builder
	for _, q := range pts {
		fmt.Fprintf(&sb, "%.1f,%.1f ", q[0], q[1])
	}
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="4,3"`
	}
	c.p(`<polyline fill="none" stroke="%s" stroke-width="1.3"%s points="%s"/>`+"\n", colour, dash, strings.TrimSpace(sb.String()))
}

// WriteChart draws the runs over rec as an SVG: per route (at most
// MaxChartRoutes, the busiest), requests admitted and shed per second by
// each run, and each run's mode over time.
func WriteChart(w io.Writer, rec *Recording, runs ...*Result) error {
	routes := busiest(rec, MaxChartRoutes)
	var from, to time.Duration = math.MaxInt64, math.MinInt64
	for _, tk := range rec.Ticks {
		from, to = min(from, tk.At-tk.Dt), max(to, tk.At)
	}
	if len(routes) == 0 || to <= from {
		return fmt.Errorf("atrreplay: the recording has no ticks to draw")
	}
	span := to - from
	x := func(t time.Duration) float64 { return cLeft + cPlot*float64(t-from)/float64(span) }
	step := time.Second // per-second rates, in bins of at least a second
	for span/step > 600 {
		step *= 2
	}
	block := cPanel + 30 + cBand*float64(len(runs)) + 24
	h := 40 + block*float64(len(routes)) + 20
	c := &chart{}
	c.p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n", cW, h, cW, h)
	c.p("<style>.t{font-size:15px;font-weight:bold}.l{font-size:11px;fill:#333}.a{font-size:10px;fill:#666}</style>\n")
	c.p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	title := "Atrion replay"
	if rec.Label != "" {
		title += " — " + rec.Label
	}
	c.label(cLeft, 22, "start", "t", title)
	for ri, route := range routes {
		top := 40 + block*float64(ri)
		series := make([][2][]float64, len(runs)) // per run: admitted and shed per second, per bin
		vmax := 1.0
		for i, r := range runs {
			series[i] = rates(r, route, from, span, step)
			for _, v := range series[i][0] {
				vmax = max(vmax, v)
			}
			for _, v := range series[i][1] {
				vmax = max(vmax, v)
			}
		}
		vmax = roundUp(vmax * 1.05)
		y := func(v float64) float64 { return top + cPanel - cPanel*min(v, vmax)/vmax }
		c.p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", cLeft, top, cPlot, cPanel)
		for _, v := range []float64{0, vmax / 2, vmax} {
			c.p(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", cLeft, cLeft+cPlot, y(v), y(v))
			c.label(cLeft-6, y(v)+3, "end", "a", fmt.Sprintf("%.0f", v))
		}
		c.label(cLeft, top-6, "start", "l", route+" — requests / s: admitted (solid), shed (dashed)")
		for i := range runs {
			colour := runColours[i%len(runColours)]
			for k, dashed := range []bool{false, true} {
				var pts [][2]float64
				for b, v := range series[i][k] {
					pts = append(pts, [2]float64{x(from + time.Duration(b+1)*step), y(v)})
				}
				c.line(pts, colour, dashed)
			}
		}
		as := axisStep(span)
		for t := (from + as - 1) / as * as; t <= to; t += as { // whole steps since the start
			c.p(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x(t), x(t), top+cPanel, top+cPanel+4)
			c.label(x(t), top+cPanel+15, "middle", "a", fmtSpan(t, as))
		}
		for i, r := range runs {
			by := top + cPanel + 24 + cBand*float64(i)
			for _, sp := range modeSpans(r, route) {
				x0, x1 := x(sp.from), x(sp.to)
				c.p(`<rect x="%.1f" y="%.1f" width="%.2f" height="%.1f" fill="%s"/>`+"\n", x0, by, max(x1-x0, 0.3), cBand-3, modeColours[sp.mode&3])
			}
			c.label(cLeft-6, by+cBand-4, "end", "a", clip(r.Name, 20))
		}
		for i, r := range runs {
			ly := top + 12 + 14*float64(i)
			c.p(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", cLeft+cPlot+8, cLeft+cPlot+24, ly-4, ly-4, runColours[i%len(runColours)])
			c.label(cLeft+cPlot+28, ly, "start", "l", clip(r.Name, 26))
		}
		for i, m := range []atrion.Mode{atrion.ModeBootstrap, atrion.ModeOperational, atrion.ModeCircuitOpen, atrion.ModeRecovering} {
			ly := top + cPanel + 24 + 12*float64(i)
			c.p(`<rect x="%.1f" y="%.1f" width="10" height="9" fill="%s"/>`+"\n", cLeft+cPlot+8, ly, modeColours[m])
			c.label(cLeft+cPlot+22, ly+8, "start", "a", m.String())
		}
	}
	c.p("</svg>\n")
	_, err := w.Write(c.b.Bytes())
	return err
}

// rates are route's admitted and shed requests per second in r, in bins
// of step from from.
func rates(r *Result, route string, from, span, step time.Duration) [2][]float64 {
	n := int((span + step - 1) / step)
	out := [2][]float64{make([]float64, n), make([]float64, n)}
	idx := routeIndex(r, route)
	for _, tk := range r.Ticks {
		if tk.Route != idx {
			continue
		}
		b := int((tk.At - 1 - from) / step)
		if b < 0 || b >= n {
			continue
		}
		out[0][b] += float64(tk.Admitted) / step.Seconds()
		out[1][b] += float64(tk.Shed) / step.Seconds()
	}
	return out
}

// modeSpan is a stretch of ticks in one mode.
type modeSpan struct {
	from, to time.Duration
	mode     atrion.Mode
}

// modeSpans merges route's consecutive ticks in the same mode, so that
// an hour of ticks is a few rectangles, not 36,000.
func modeSpans(r *Result, route string) []modeSpan {
	idx := routeIndex(r, route)
	var out []modeSpan
	for _, tk := range r.Ticks {
		if tk.Route != idx {
			continue
		}
		if n := len(out); n > 0 && out[n-1].mode == tk.Mode && out[n-1].to == tk.At-tk.Dt {
			out[n-1].to = tk.At
			continue
		}
		out = append(out, modeSpan{from: tk.At - tk.Dt, to: tk.At, mode: tk.Mode})
	}
	return out
}

// busiest is rec's routes by demand, at most n, in the recording's order.
func busiest(rec *Recording, n int) []string {
	demand := make([]uint64, len(rec.Routes))
	for _, tk := range rec.Ticks {
		demand[tk.Route] += tk.Demand()
	}
	keep := make([]bool, len(rec.Routes))
	for range min(n, len(rec.Routes)) {
		best := -1
		for i, d := range demand {
			if !keep[i] && (best < 0 || d > demand[best]) {
				best = i
			}
		}
		keep[best] = true
	}
	var out []string
	for i, k := range keep {
		if k {
			out = append(out, rec.Routes[i])
		}
	}
	return out
}

// roundUp rounds v up to 1, 2 or 5 × a power of ten.
func roundUp(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

// axisStep is the time axis's step: about ten labels.
func axisStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour} {
		if span/s <= 12 {
			return s
		}
	}
	return 24 * time.Hour
}

// fmtSpan labels the time axis: seconds for steps under a minute, else
// minutes.
func fmtSpan(t, step time.Duration) string {
	if step < time.Minute {
		return fmt.Sprintf("%.0fs", t.Seconds())
	}
	return fmt.Sprintf("%dm", t/time.Minute)
}
