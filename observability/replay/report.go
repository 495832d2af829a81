package atrreplay

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Bucket is a route's decisions over one stretch of a run.
type Bucket struct {
	From           time.Duration // since the recording's start
	Admitted, Shed uint64
}

// Buckets sums route's admitted and shed requests in r over consecutive
// stretches of every (a minute, say), from the recording's start; a tick
// counts in the stretch its end falls in (an end on a boundary closes the
// stretch before it).
func Buckets(r *Result, route string, every time.Duration) []Bucket {
	idx := routeIndex(r, route)
	if idx < 0 || every <= 0 {
		return nil
	}
	var out []Bucket
	var first time.Duration
	for _, tk := range r.Ticks {
		if tk.Route != idx {
			continue
		}
		k := bucketOf(tk.At, every)
		if out == nil {
			first = k
		}
		if k < first { // a tick before the first bucket (out of order): fold it in
			k = first
		}
		for i := len(out); i <= int((k-first)/every); i++ {
			out = append(out, Bucket{From: first + time.Duration(i)*every})
		}
		b := &out[(k-first)/every]
		b.Admitted += uint64(tk.Admitted)
		b.Shed += uint64(tk.Shed)
	}
	return out
}

// bucketOf is the start of the stretch of every that a tick ending at at
// belongs to.
func bucketOf(at, every time.Duration) time.Duration {
	k := (at - 1) / every
	if at-1 < 0 && (at-1)%every != 0 {
		k-- // floor, not truncation, before the start
	}
	return k * every
}

func routeIndex(r *Result, route string) int32 {
	for i, n := range r.Routes {
		if n == route {
			return int32(i)
		}
	}
	return -1
}

// transitionsOf is route's transitions in r, in time order as recorded.
func transitionsOf(r *Result, route string) []Transition {
	idx := routeIndex(r, route)
	var out []Transition
	for _, t := range r.Transitions {
		if t.Route == idx {
			out = append(out, t)
		}
	}
	return out
}

// WriteReport writes, for each route of rec, what each run admitted and
// shed per stretch of every, and its transitions; the first run is the
// reference the others are compared to (Recorded(rec), usually).
// Stretches in which no run had a request are counted, not listed.
func WriteReport(w io.Writer, rec *Recording, every time.Duration, runs ...*Result) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	var end time.Duration
	for _, tk := range rec.Ticks {
		end = max(end, tk.At)
	}
	p("recording: %q, tick %v, %v from %s, %d routes, %d ticks\n", rec.Label, rec.Tick, end.Round(time.Second),
		rec.Start.UTC().Format(time.RFC3339), len(rec.Routes), len(rec.Ticks))
	for _, r := range runs[min(1, len(runs)):] {
		if r.Offered > 0 {
			p("%s: %d requests offered, %d admitted beyond the recorded admissions (ends estimated), %d recorded ends skipped, %d clamped\n",
				r.Name, r.Offered, r.Extra, r.Skipped, r.Clamped)
		}
	}
	const col = 27
	for _, route := range rec.Routes {
		p("\n%s\n  %-10s", route, "from")
		for _, r := range runs {
			p("  %*s", col, clip(r.Name+" adm/shed", col))
		}
		p("\n")
		per := make([][]Bucket, len(runs))
		n := 0
		for i, r := range runs {
			per[i] = Buckets(r, route, every)
			n = max(n, len(per[i]))
		}
		quiet := 0 // stretches in which no run had a request, left out
		for k := range n {
			if quiet += 1; emptyRow(per, k) {
				continue
			}
			if quiet--; quiet > 0 {
				p("  … %d stretches without requests\n", quiet)
				quiet = 0
			}
			from := time.Duration(-1)
			for i := range runs {
				if k < len(per[i]) {
					from = per[i][k].From
					break
				}
			}
			p("  %-10v", from)
			for i := range runs {
				var b Bucket
				if k < len(per[i]) {
					b = per[i][k]
				}
				p("  %*s", col, fmt.Sprintf("%d / %d", b.Admitted, b.Shed))
			}
			p("\n")
		}
		if quiet > 0 {
			p("  … %d stretches without requests\n", quiet)
		}
		p("  transitions:\n")
		for i, r := range runs {
			ts := transitionsOf(r, route)
			p("    %-*s", col, clip(r.Name, col))
			if i > 0 {
				m, miss, extra := Match(onlyRoute(runs[0], route), onlyRoute(r, route), rec.Tick/2)
				p(" (%d as %s, %d not, %d new)", m, runs[0].Name, len(miss), len(extra))
			}
			for _, t := range ts {
				p(" %v %v→%v;", t.At.Round(time.Millisecond), shortMode(t.From), shortMode(t.To))
			}
			if len(ts) == 0 {
				p(" none")
			}
			p("\n")
		}
	}
	return bw.Flush()
}

// emptyRow reports whether no run had a request in stretch k.
func emptyRow(per [][]Bucket, k int) bool {
	for _, bs := range per {
		if k < len(bs) && bs[k].Admitted+bs[k].Shed > 0 {
			return false
		}
	}
	return true
}

// onlyRoute is r restricted to one route's transitions, for Match.
func onlyRoute(r *Result, route string) *Result {
	return &Result{Name: r.Name, Routes: r.Routes, Transitions: transitionsOf(r, route)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// shortMode names a mode in a few letters, for dense lines.
func shortMode(m atrion.Mode) string {
	switch m {
	case atrion.ModeBootstrap:
		return "BOOT"
	case atrion.ModeOperational:
		return "OP"
	case atrion.ModeCircuitOpen:
		return "OPEN"
	case atrion.ModeRecovering:
		return "REC"
	}
	return strings.ToUpper(m.String())
}
