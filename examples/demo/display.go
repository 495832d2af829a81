package main

import (
	"fmt"
	"strings"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// display prints the live table and the summary.
type display struct {
	cfg config
	w   *world
	b   strings.Builder
}

// ANSI codes, used only on a terminal
const (
	ansiHome  = "\x1b[H\x1b[2J"
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
)

var modeColor = map[string]string{
	"BOOTSTRAP": "\x1b[34m", "OPERATIONAL": "\x1b[32m", "RECOVERING": "\x1b[33m", "CIRCUIT_OPEN": "\x1b[31;1m",
}

func (d *display) color(code, s string) string {
	if !d.cfg.tty || code == "" {
		return s
	}
	return code + s + ansiReset
}

// live prints the table once a second: in place on a terminal, otherwise
// every fifth second (and when final) as a new block.
func (d *display) live(elapsed time.Duration, pass, cur int, final bool) {
	wins := make([]*counters, len(d.w.sides))
	for i, s := range d.w.sides {
		wins[i] = s.swapWindow()
	}
	sec := int(elapsed / time.Second)
	if !d.cfg.tty && sec%5 != 0 && !final {
		return
	}
	b := &d.b
	b.Reset()
	if d.cfg.tty {
		b.WriteString(ansiHome)
	}
	p := script[cur]
	inPass := elapsed % d.cfg.duration
	if final && pass >= 1 && !d.cfg.keep {
		inPass = d.cfg.duration // the end of the one pass, not the start of the next
	}
	const barLen = 30
	filled := int(barLen * inPass / d.cfg.duration)
	fmt.Fprintf(b, "%s  phase %d/%d %-18s %s\n", d.color(ansiBold, "Atrion demo"), cur+1, len(script), p.name,
		d.color(ansiDim, fmt.Sprintf("(%.0f req/s per front: %s)", p.rate*d.cfg.scale, p.about)))
	fmt.Fprintf(b, "[%s%s] %3ds / %ds", strings.Repeat("█", filled), strings.Repeat("░", barLen-filled),
		int(inPass/time.Second), int(d.cfg.duration/time.Second))
	if d.cfg.keep {
		fmt.Fprintf(b, "  pass %d (-keep: Ctrl-C to stop)", pass+1)
	}
	fmt.Fprintf(b, "\ndashboard: %s/\n\n", d.w.dashURL)

	fmt.Fprintf(b, "%-28s %-13s %8s %8s %7s %8s %8s %8s\n", "route (with Atrion)", "mode", "R", "scar", "break", "adm/s", "shed/s", "fail/s")
	for _, r := range d.w.dash.State().Routes {
		if r.Route == atrion.OverflowRoute {
			continue
		}
		fmt.Fprintf(b, "%-28s %s %8.1f %8.1f %7.1f %8.0f %8.0f %8.0f\n", r.Route,
			d.color(modeColor[r.Mode], fmt.Sprintf("%-13s", r.Mode)), r.Resistance, r.Scar, r.BreakPoint,
			r.Rates.Admitted, r.Rates.Shed, r.Rates.Failed)
	}
	fmt.Fprintf(b, "\n%-28s %10s %10s %10s %10s\n", "last second, whole front", "served/s", "p99 served", "shed/s", "lost/s")
	for i, s := range d.w.sides {
		c := wins[i]
		fmt.Fprintf(b, "%-28s %10d %10s %10d %10d\n", s.name, c.ok.Load(), ms(c.okLat.quantile(0.99)), c.shed.Load(), c.lost())
	}
	b.WriteString(d.color(ansiDim, "lost = failed (5xx) + timed out + not sent (every client worker busy)") + "\n")
	if !d.cfg.tty {
		b.WriteString("\n")
	}
	fmt.Fprint(d.cfg.out, b.String())
}

// summary prints goodput and p99 per phase for both fronts, measured in
// the same run on the same schedule.
func (d *display) summary(spent []time.Duration) {
	b := &d.b
	b.Reset()
	with, without := d.w.sides[0], d.w.sides[1]
	fmt.Fprintf(b, "\n%s (same run, same request schedule, identical backends)\n\n", d.color(ansiBold, "Summary"))
	fmt.Fprintf(b, "%-20s %9s │ %17s │ %17s │ %15s │ %8s\n", "", "offered", "served/s", "p99 served", "lost/s", "shed/s")
	fmt.Fprintf(b, "%-20s %9s │ %8s %8s │ %8s %8s │ %7s %7s │ %8s\n", "phase", "req/s", "Atrion", "none", "Atrion", "none", "Atrion", "none", "Atrion")
	var all [2]counters
	var total time.Duration
	for i, p := range script {
		if spent[i] <= 0 {
			continue
		}
		total += spent[i]
		a, n := with.phases[i], without.phases[i]
		merge(&all[0], a)
		merge(&all[1], n)
		d.summaryRow(b, p.name, spent[i], a, n)
	}
	if total > 0 {
		d.summaryRow(b, "whole run", total, &all[0], &all[1])
	}
	b.WriteString("\nserved: 200 answers. lost: 5xx, timeouts (2 s) and requests not sent because every\n" +
		"client worker was busy. shed: fast 503s from Atrion with Retry-After.\n")
	if ok0, ok1 := all[0].ok.Load(), all[1].ok.Load(); total > 0 && ok1 > 0 {
		fmt.Fprintf(b, "\nWith Atrion the front served %.2f× the requests of its unprotected twin; p99 of served requests %s vs %s.\n",
			float64(ok0)/float64(ok1), ms(all[0].okLat.quantile(0.99)), ms(all[1].okLat.quantile(0.99)))
	}
	fmt.Fprint(d.cfg.out, b.String())
}

func (d *display) summaryRow(b *strings.Builder, name string, span time.Duration, a, n *counters) {
	s := span.Seconds()
	per := func(v uint64) float64 { return float64(v) / s }
	fmt.Fprintf(b, "%-20s %9.0f │ %8.1f %8.1f │ %8s %8s │ %7.1f %7.1f │ %8.1f\n", name, per(a.offered()),
		per(a.ok.Load()), per(n.ok.Load()), ms(a.okLat.quantile(0.99)), ms(n.okLat.quantile(0.99)),
		per(a.lost()), per(n.lost()), per(a.shed.Load()))
}

// merge adds src's counts to dst.
func merge(dst, src *counters) {
	dst.sent.Add(src.sent.Load())
	dst.ok.Add(src.ok.Load())
	dst.shed.Add(src.shed.Load())
	dst.failed.Add(src.failed.Load())
	dst.timeouts.Add(src.timeouts.Load())
	dst.dropped.Add(src.dropped.Load())
	for i := range src.okLat.b {
		dst.okLat.b[i].Add(src.okLat.b[i].Load())
	}
}

// ms formats a latency for the tables.
func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
