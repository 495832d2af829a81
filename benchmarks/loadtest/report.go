package loadtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteReport writes res as Markdown: the setup, a summary against the
// control law's targets, two tables per scenario, and the generator's
// check. Every cell that a run measured shows each round's value, in
// round order ("196/198"), so the machine's noise stays visible.
func WriteReport(w io.Writer, res *Results) error {
	rp := &reporter{res: res, cap: res.Config.Capacity()}
	rp.header()
	rp.summary()
	rp.checks()
	for i := range res.Config.Scenarios {
		rp.scenario(&res.Config.Scenarios[i])
	}
	rp.generator()
	_, err := io.WriteString(w, rp.b.String())
	return err
}

type reporter struct {
	res *Results
	cap float64
	b   strings.Builder
}

func (rp *reporter) f(format string, a ...any) { fmt.Fprintf(&rp.b, format, a...) }

func (rp *reporter) header() {
	c := &rp.res.Config
	rp.f("# Load test, %s\n\n", rp.res.Started.Format("2006-01-02 15:04"))
	rp.f("- machine: %s; took %s\n", rp.res.Machine, rp.res.Wall.Round(time.Second))
	rp.f("- backend: %d workers × %v = %.0f requests/s (capacity), FIFO queue of %d; front timeout %v; client timeout %v\n",
		c.Workers, c.Service, rp.cap, c.Queue, c.FrontTimeout, c.ClientTimeout)
	rp.f("- generator: open loop, Poisson arrivals, seed %d, ≤ %d requests in flight, %.0f %% marked X-Priority: critical; routes %s weighted %v\n",
		c.Seed, c.GenWorkers, 100*c.Critical, strings.Join(Routes[:], ", "), Weights)
	rp.f("- %d rounds, contestants interleaved in each; a cell shows each round's value, round 1 first\n", c.Rounds)
	rp.f("- served/s, p50, p99, shed/s, lost/s (errors and timeouts): answers that arrived in the phase; offered/s, critical served %%, first shed and full service again: requests due in the phase. Full service again: the end of the last %v-or-longer window of the phase in which fewer than %.0f %% of the requests due were served\n",
		bucketWidth(HealthyLoad*rp.cap), 100*RecoveredShare)
	rp.f("- the scenarios of shared capacity give routes their own service times and rates (each scenario says which), and big-tenant's requests carry a client key in %s\n", KeyHeader)
	for _, n := range c.Contestants {
		rp.f("- **%s**: %s\n", n, Settings[n])
	}
	rp.f("\n")
}

// runs returns scenario sc's runs of contestant c, in round order.
func (rp *reporter) runs(sc, c string) []*RunResult {
	var out []*RunResult
	for i := range rp.res.Runs {
		if r := &rp.res.Runs[i]; r.Scenario == sc && r.Contestant == c {
			out = append(out, r)
		}
	}
	return out
}

// phase returns the index of the phase named name in sc, or −1.
func phaseIndex(sc *Scenario, name string) int {
	for i, p := range sc.Phases {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// cell formats f of phase pi over every round of sc's runs for c.
func (rp *reporter) cell(sc, c string, pi int, f func(*PhaseResult) string) string {
	var vs []string
	for _, r := range rp.runs(sc, c) {
		if pi < len(r.Phases) {
			vs = append(vs, f(&r.Phases[pi]))
		}
	}
	if len(vs) == 0 {
		return "–"
	}
	return strings.Join(vs, "/")
}

func perSec(n int, d time.Duration) string { return fmt.Sprintf("%.0f", float64(n)/d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

// p50 and p99 format the latency quantiles of c's served requests, "–"
// when none was served.
func p50(c Counts) string { return latency(c, c.P50) }

func p99(c Counts) string { return latency(c, c.P99) }

func latency(c Counts, d time.Duration) string {
	if c.Served == 0 {
		return "–"
	}
	return ms(d)
}

func share(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", 100*float64(n)/float64(of))
}

// secs formats a FirstShed or Recovery time; neg says what −1 means.
func secs(d time.Duration, neg string) string {
	if d < 0 {
		return neg
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}

func (rp *reporter) busy(p *PhaseResult) string {
	return fmt.Sprintf("%.0f", 100*float64(p.Backend.BusyNanos)/(float64(rp.res.Config.Workers)*float64(p.Duration)))
}

// summary is the table the control law is judged by (issue 14's targets).
func (rp *reporter) summary() {
	type row struct {
		label, target, scenario, phase string
		f                              func(*PhaseResult) string
	}
	goodput := func(p *PhaseResult) string {
		return fmt.Sprintf("%.2f", float64(p.Answered.All.Served)/p.Duration.Seconds()/rp.cap)
	}
	critical := func(p *PhaseResult) string { return share(p.Critical.Served, p.Critical.Offered) }
	rows := []row{
		{"goodput at 3×, ÷ capacity", "≥ best peer, ≥ 0.95", "overload", "3×", goodput},
		{"goodput at 10×, ÷ capacity", "≥ best peer, ≥ 0.95", "overload", "10×", goodput},
		{"p99 of served at 3×, ms", "< none", "overload", "3×", func(p *PhaseResult) string { return p99(p.Answered.All) }},
		{"p99 of served at 10×, ms", "< none", "overload", "10×", func(p *PhaseResult) string { return p99(p.Answered.All) }},
		{"critical served at 3×, %", "100", "overload", "3×", critical},
		{"critical served at 10×, %", "100", "overload", "10×", critical},
		{"backend busy at 10×, %", "", "overload", "10×", rp.busy},
		{"back to full service after overload, s", "≤ 1", "overload", "after", func(p *PhaseResult) string { return secs(p.Recovery, "never") }},
		{"failing route: first shed, s", "", "failing", "orders failing", func(p *PhaseResult) string { return secs(p.FirstShed, "never") }},
		{"failing route: back to full service, s", "", "failing", "after", func(p *PhaseResult) string { return secs(p.Recovery, "never") }},
		{"hung route: first shed, s", "≤ 3", "hang", "reports hangs", func(p *PhaseResult) string { return secs(p.FirstShed, "never") }},
		{"slow route: other routes served/s", "≥ best peer", "starve", "reports slow", func(p *PhaseResult) string { return perSec(p.Answered.Healthy.Served, p.Duration) }},
		{"slow route: other routes' p99, ms", "", "starve", "reports slow", func(p *PhaseResult) string { return p99(p.Answered.Healthy) }},
		{"backend calls wasted at 10×, /s", "", "overload", "10×", func(p *PhaseResult) string { return perSec(int(p.Backend.Wasted), p.Duration) }},
	}
	cs := rp.res.Config.Contestants
	t := newTable(append([]string{"measure", "target"}, cs...), 2)
	for _, r := range rows {
		sc := rp.scenarioNamed(r.scenario)
		if sc == nil {
			continue
		}
		pi := phaseIndex(sc, r.phase)
		if pi < 0 {
			continue
		}
		cells := []string{r.label, r.target}
		for _, c := range cs {
			cells = append(cells, rp.cell(sc.Name, c, pi, r.f))
		}
		t.add(cells...)
	}
	if len(t.rows) == 0 {
		return
	}
	rp.f("## Summary against the control law's targets\n\n")
	if starve := rp.scenarioNamed("starve"); starve != nil {
		if pi := phaseIndex(starve, "reports slow"); pi >= 0 {
			p := starve.Phases[pi]
			rp.f("The other routes are offered %.0f requests/s while reports is slow.\n\n",
				p.Load*rp.cap*weightOf(starve.Healthy))
		}
	}
	t.write(&rp.b)
	rp.f("\n")
}

func (rp *reporter) scenarioNamed(name string) *Scenario {
	for i := range rp.res.Config.Scenarios {
		if sc := &rp.res.Config.Scenarios[i]; sc.Name == name {
			return sc
		}
	}
	return nil
}

// scenario writes sc's two tables: every route, then the focus and
// healthy routes with the times to first shed and to recover.
func (rp *reporter) scenario(sc *Scenario) {
	rp.f("## %s: %s\n\n", sc.Name, sc.About)
	var timeline []string
	for _, p := range sc.Phases {
		timeline = append(timeline, rp.describe(sc, &p))
	}
	rp.f("Phases: %s.\n\n", strings.Join(timeline, " → "))
	var services []string
	for r := range Routes {
		if sc.Service[r] > 0 {
			services = append(services, fmt.Sprintf("%s %v", Routes[r], sc.Service[r]))
		}
	}
	if len(services) > 0 {
		rp.f("Service times in the backend: %s; %d workers.\n\n", strings.Join(services, ", "), rp.res.Config.Workers)
	}

	cs := rp.res.Config.Contestants
	all := newTable([]string{"phase", "contestant", "offered/s", "served/s", "p50 ms", "p99 ms", "shed/s", "lost/s", "backend busy %", "wasted/s"}, 2)
	for pi, p := range sc.Phases {
		for _, c := range cs {
			offered := "–"
			if rs := rp.runs(sc.Name, c); len(rs) > 0 {
				offered = perSec(rs[0].Phases[pi].All.Offered, p.Duration)
			}
			all.add(p.Name, c, offered,
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.All.Served, p.Duration) }),
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return p50(p.Answered.All) }),
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return p99(p.Answered.All) }),
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.All.Shed, p.Duration) }),
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.All.Lost(), p.Duration) }),
				rp.cell(sc.Name, c, pi, rp.busy),
				rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(int(p.Backend.Wasted), p.Duration) }))
		}
	}
	all.write(&rp.b)
	rp.f("\n")

	focus := names(sc.Focus)
	head := []string{"phase", "contestant"}
	partial := len(sc.Focus) < len(Routes)
	if partial {
		head = append(head, focus+" served/s", focus+" shed/s", focus+" lost/s")
	}
	head = append(head, "first shed s")
	if len(sc.Healthy) > 0 {
		head = append(head, names(sc.Healthy)+" served/s", names(sc.Healthy)+" p99 ms")
	}
	head = append(head, "critical served %", "full service again after s")
	t := newTable(head, 2)
	for pi, p := range sc.Phases {
		if p.Role == Warmup {
			continue
		}
		for _, c := range cs {
			cells := []string{p.Name, c}
			if partial {
				cells = append(cells,
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.Focus.Served, p.Duration) }),
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.Focus.Shed, p.Duration) }),
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.Focus.Lost(), p.Duration) }))
			}
			cells = append(cells, rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return secs(p.FirstShed, "never") }))
			if len(sc.Healthy) > 0 {
				cells = append(cells,
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(p.Answered.Healthy.Served, p.Duration) }),
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return p99(p.Answered.Healthy) }))
			}
			cells = append(cells, rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return share(p.Critical.Served, p.Critical.Offered) }))
			if p.Role == Aftermath {
				d := p.Duration
				cells = append(cells, rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return secs(p.Recovery, ">"+secs(d, "")) }))
			} else {
				cells = append(cells, "–")
			}
			t.add(cells...)
		}
	}
	t.write(&rp.b)
	rp.f("\n")
	rp.keys(sc)
}

// describe is phase p of sc in a line: its load or its streams, its
// length, and what goes wrong in it.
func (rp *reporter) describe(sc *Scenario, p *Phase) string {
	load := fmt.Sprintf("%.1f×", p.Load)
	if len(p.Streams) > 0 {
		var fs []string
		for _, st := range p.Streams {
			who := Routes[st.Route]
			if st.Key > 0 && st.Key <= len(sc.Keys) {
				who += " " + sc.Keys[st.Key-1]
			}
			fs = append(fs, fmt.Sprintf("%s %.0f/s", who, st.Rate))
		}
		load = "(" + strings.Join(fs, ", ") + ")"
	}
	d := fmt.Sprintf("%s %s %v", p.Name, load, p.Duration)
	for r, f := range p.Faults {
		if f.Extra > 0 {
			d += fmt.Sprintf(", %s +%v", Routes[r], f.Extra)
		}
	}
	if p.Hog {
		d += ", CPU hog"
	}
	return d
}

// keys writes the served and shed rates of each client key of sc, and
// the requests refused as banned.
func (rp *reporter) keys(sc *Scenario) {
	if len(sc.Keys) == 0 {
		return
	}
	head := []string{"phase", "contestant"}
	for _, k := range sc.Keys {
		head = append(head, k+" served/s", k+" shed/s")
	}
	head = append(head, "banned answers")
	t := newTable(head, 2)
	for pi, p := range sc.Phases {
		for _, c := range rp.res.Config.Contestants {
			cells := []string{p.Name, c}
			for k := range sc.Keys {
				key := func(p *PhaseResult) Counts {
					if k < len(p.Answered.Keys) {
						return p.Answered.Keys[k]
					}
					return Counts{}
				}
				cells = append(cells,
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(key(p).Served, p.Duration) }),
					rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return perSec(key(p).Shed, p.Duration) }))
			}
			cells = append(cells, rp.cell(sc.Name, c, pi, func(p *PhaseResult) string { return fmt.Sprint(p.All.Banned) }))
			t.add(cells...)
		}
	}
	rp.f("By client key (answers that arrived in the phase; banned answers: requests due in the phase refused as a banned key):\n\n")
	t.write(&rp.b)
	rp.f("\n")
}

// checks is the table of every scenario's pass criteria: each round's
// value, round 1 first, then a mark per round (✓ pass, ✗ fail).
func (rp *reporter) checks() {
	cs := rp.res.Config.Contestants
	t := newTable(append([]string{"scenario", "check", "target"}, cs...), 3)
	for si := range rp.res.Config.Scenarios {
		sc := &rp.res.Config.Scenarios[si]
		var labels, targets []string
		for _, c := range cs {
			for _, r := range rp.runs(sc.Name, c) {
				for _, ck := range r.Checks {
					if !slices.Contains(labels, ck.Label) {
						labels, targets = append(labels, ck.Label), append(targets, ck.Target)
					}
				}
			}
		}
		for li, l := range labels {
			cells := []string{sc.Name, l, targets[li]}
			for _, c := range cs {
				var vs []string
				marks := ""
				for _, r := range rp.runs(sc.Name, c) {
					for _, ck := range r.Checks {
						if ck.Label != l {
							continue
						}
						vs = append(vs, ck.Value)
						if ck.Target != "" {
							marks += map[bool]string{true: "✓", false: "✗"}[ck.Pass]
						}
					}
				}
				cell := strings.Join(vs, "/")
				if marks != "" {
					cell += " " + marks
				}
				cells = append(cells, cell)
			}
			t.add(cells...)
		}
	}
	if len(t.rows) == 0 {
		return
	}
	rp.f("## Shared capacity against issue 28's targets\n\n")
	rp.f("Each cell shows each round's value, round 1 first, then ✓ (pass) or ✗ (fail) for each round. Overloads are judged from a grace after they start (%v in make loadtest) to their end; rates count the answers that arrived in that window, shares the requests due in it; capacities and fair shares come from the scenario's numbers (workers ÷ service time).\n\n",
		DefaultShareTimeline.Grace)
	t.write(&rp.b)
	rp.f("\n")
}

func names(rs []int) string {
	var s []string
	for _, r := range rs {
		s = append(s, Routes[r])
	}
	return strings.Join(s, "+")
}

// generator says whether the generator kept to its schedule in every
// run, and how far behind it fell where it did not.
func (rp *reporter) generator() {
	var behind []string
	var worst time.Duration
	var late, sent, dropped, offered, peak int
	for i := range rp.res.Runs {
		r := &rp.res.Runs[i]
		peak = max(peak, r.Inflight)
		var bad *PhaseResult
		for j := range r.Phases {
			p := &r.Phases[j]
			worst = max(worst, p.Lag.P99)
			late += p.Lag.Late
			sent += p.Lag.Sent
			dropped += p.All.Dropped
			offered += p.All.Offered
			if bad == nil || p.Lag.Late*bad.Lag.Sent > bad.Lag.Late*max(p.Lag.Sent, 1) {
				bad = p
			}
		}
		if !r.Sustained() && bad != nil {
			behind = append(behind, fmt.Sprintf("%s/%s/round %d (%s: %.1f %% late, p99 lag %v, %d dropped)",
				r.Scenario, r.Contestant, r.Round, bad.Name, 100*float64(bad.Lag.Late)/float64(max(bad.Lag.Sent, 1)),
				bad.Lag.P99.Round(time.Millisecond), bad.All.Dropped))
		}
	}
	rp.f("## Generator\n\n")
	rp.f("In all %d runs, %d of %d requests were sent more than %v late (worst phase p99 lag %v), %d of %d dropped for want of a free worker; at most %d of %d workers were in flight.\n\n",
		len(rp.res.Runs), late, sent, LateAfter, worst.Round(10*time.Microsecond), dropped, offered, peak, rp.res.Config.GenWorkers)
	if len(behind) == 0 {
		rp.f("The generator kept to its schedule in every run.\n")
		return
	}
	rp.f("**The generator fell behind its schedule** (over 1 %% of a phase's requests late, or over 0.1 %% dropped) in %d of %d runs; their figures are less trustworthy (worst phase shown):\n\n",
		len(behind), len(rp.res.Runs))
	for _, b := range behind {
		rp.f("- %s\n", b)
	}
}

// table is a Markdown table whose first left columns are left-aligned
// and the others right-aligned.
type table struct {
	head []string
	left int
	rows [][]string
}

func newTable(head []string, left int) *table { return &table{head: head, left: left} }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i < t.left {
				fmt.Fprintf(b, "| %s%s ", c, pad)
			} else {
				fmt.Fprintf(b, "| %s%s ", pad, c)
			}
		}
		b.WriteString("|\n")
	}
	line(t.head)
	for i, w := range width {
		dash := strings.Repeat("-", w+1)
		if i < t.left {
			fmt.Fprintf(b, "|:%s", dash)
		} else {
			fmt.Fprintf(b, "|%s:", dash)
		}
	}
	b.WriteString("|\n")
	for _, r := range t.rows {
		line(r)
	}
}
