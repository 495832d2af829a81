package grpcload

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// The pass criteria's constants.
const (
	// goodputTolerance is the share by which a goodput may fall short of
	// another on identical traffic and still count as equal: the noise
	// between rounds of one contestant.
	goodputTolerance = 0.01
	// TargetErrorRate is the route's error-rate target under atrion.New()
	// defaults.
	TargetErrorRate = 0.01
	// nearBase is how far R's mean may rise above R_base and still be
	// near it.
	nearBase = 2.0
	// notWorse is the share of the before binary's overload goodput that
	// the build under test must keep.
	notWorse = 0.98
	// lateShare of a run's calls may go out late before it is flagged.
	lateShare = 0.01
)

// Check returns the pass criteria that contestant (Atrion or
// AtrionBefore) misses in results, one line each; none means it passed.
// In the mixed-deadline scenario, each round: goodput at least none's and
// failsafe-go's (within goodputTolerance); handler work wasted at most
// none's; the route's error rate below TargetErrorRate; R's mean within
// nearBase × R_base and its maximum below the break point. In overload,
// each round: wasted work at most none's and, for Atrion beside a before
// binary, goodput at least notWorse of the before binary's. (Flagged
// lists the runs whose figures the generator's lag may have bent.)
func Check(results []Result, contestant string) []string {
	var misses []string
	miss := func(r Result, format string, args ...any) {
		misses = append(misses, fmt.Sprintf("round %d, %s: ", r.Round, r.Scenario)+fmt.Sprintf(format, args...))
	}
	find := func(round int, scenario, who string) (Result, bool) {
		for _, r := range results {
			if r.Round == round && r.Scenario == scenario && r.Contestant == who {
				return r, true
			}
		}
		return Result{}, false
	}
	for _, r := range results {
		if r.Contestant != contestant {
			continue
		}
		none, okNone := find(r.Round, r.Scenario, None)
		if okNone && r.Server.Wasted > none.Server.Wasted {
			miss(r, "wasted work %d > none's %d", r.Server.Wasted, none.Server.Wasted)
		}
		if !strings.HasPrefix(r.Scenario, "mixed") {
			if before, ok := find(r.Round, r.Scenario, AtrionBefore); ok && contestant == Atrion && r.Goodput() < notWorse*before.Goodput() {
				miss(r, "goodput %.1f/s < %.0f%% of the before binary's %.1f/s", r.Goodput(), 100*notWorse, before.Goodput())
			}
			continue
		}
		for _, peer := range []string{None, Failsafe} {
			if p, ok := find(r.Round, r.Scenario, peer); ok && r.Goodput() < (1-goodputTolerance)*p.Goodput() {
				miss(r, "goodput %.1f/s < %s's %.1f/s", r.Goodput(), peer, p.Goodput())
			}
		}
		rt := r.Server.Route
		if rt == nil {
			miss(r, "no route figures")
			continue
		}
		if rt.ErrorRate >= TargetErrorRate {
			miss(r, "route error rate %.3f ≥ its target %.2f", rt.ErrorRate, TargetErrorRate)
		}
		if rt.MeanR > nearBase*BaseResistance || rt.MaxR >= rt.BreakPoint {
			miss(r, "R mean %.1f (limit %.0f), max %.1f (break point %.1f): not near its base", rt.MeanR, nearBase*BaseResistance, rt.MaxR, rt.BreakPoint)
		}
	}
	return misses
}

// Flagged returns the runs whose generator sent more than lateShare of
// their calls more than lateSend late (a machine too busy to keep the
// schedule), one line each.
func Flagged(results []Result) []string {
	var out []string
	for _, r := range results {
		if sent := r.Client.Total().Sent; sent > 0 && float64(r.Client.Late) > lateShare*float64(sent) {
			out = append(out, fmt.Sprintf("round %d, %s, %s: the generator sent %d of %d calls more than %v late",
				r.Round, r.Scenario, r.Contestant, r.Client.Late, sent, lateSend))
		}
	}
	return out
}

// Table writes the results as a Markdown table, scenario by scenario.
func Table(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| scenario | contestant | round | goodput/s | served (short/long) | shed (short/long) | timed out | wasted | abandoned | p50 | p99 | route errors | error rate | R mean / max / end |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, sc := range scenarioOrder(results) {
		for _, r := range results {
			if r.Scenario != sc {
				continue
			}
			t := r.Client.Total()
			route, rate, rs := "–", "–", "–"
			if rt := r.Server.Route; rt != nil {
				route = fmt.Sprintf("%d (+%d slow)", rt.Failures, rt.Slow)
				rate = fmt.Sprintf("%.3f", rt.ErrorRate)
				rs = fmt.Sprintf("%.1f / %.1f / %.1f", rt.MeanR, rt.MaxR, rt.EndR)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %.1f | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s |\n",
				r.Scenario, r.Contestant, r.Round, r.Goodput(), byClass(r.Client, func(k ClassCounts) int { return k.Served }),
				byClass(r.Client, func(k ClassCounts) int { return k.Shed }), t.TimedOut, r.Server.Wasted, r.Server.Abandoned,
				ms(r.Client.P50), ms(r.Client.P99), route, rate, rs)
		}
	}
}

// byClass formats one count per deadline class, shortest first.
func byClass(c ClientStats, f func(ClassCounts) int) string {
	parts := make([]string, len(c.Classes))
	for i, k := range c.Classes {
		parts[i] = fmt.Sprint(f(k))
	}
	return strings.Join(parts, " / ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// scenarioOrder returns the scenarios in results, in first-run order.
func scenarioOrder(results []Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range results {
		if !seen[r.Scenario] {
			seen[r.Scenario] = true
			out = append(out, r.Scenario)
		}
	}
	return out
}
