package windtunnel

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Board collects the runs of a Wind Tunnel session: every scenario
// against every contestant, on one seed.
type Board struct {
	Seed        uint64
	Scenarios   []Scenario
	Contestants []Contestant
	results     map[string]map[string]*Result // scenario → contestant → result
}

// NewBoard returns an empty board for the given scenarios and contestants.
func NewBoard(seed uint64, scs []Scenario, cs []Contestant) *Board {
	return &Board{Seed: seed, Scenarios: scs, Contestants: cs, results: map[string]map[string]*Result{}}
}

// Add records a result.
func (b *Board) Add(r *Result) {
	m := b.results[r.Scenario]
	if m == nil {
		m = map[string]*Result{}
		b.results[r.Scenario] = m
	}
	m[r.Contestant] = r
}

// Result returns a recorded result, or nil.
func (b *Board) Result(scenario, contestant string) *Result { return b.results[scenario][contestant] }

// Verdicts judges Atrion on sc (nil when Atrion was not run).
func (b *Board) Verdicts(sc Scenario) []Verdict { return b.Judge(sc, Atrion.Name) }

// Judge evaluates sc's checks on contestant's run (nil when it was not
// run): the criteria are what a good guard achieves, so every contestant
// is scored on them.
func (b *Board) Judge(sc Scenario, contestant string) []Verdict {
	r := b.Result(sc.Name, contestant)
	if r == nil {
		return nil
	}
	return sc.Judge(r, b.results[sc.Name])
}

// passed counts the passing verdicts.
func passed(vs []Verdict) int {
	n := 0
	for _, v := range vs {
		if v.Pass {
			n++
		}
	}
	return n
}

// servedMargin is how much more a contestant must serve than Atrion to
// dominate it: half a percentage point, below which shares are noise.
const servedMargin = 0.005

// DominatedBy lists the contestants that, on sc, both serve more of the
// users' requests than Atrion (by more than half a point) and waste fewer
// calls.
func (b *Board) DominatedBy(sc Scenario) []string {
	atr := b.Result(sc.Name, Atrion.Name)
	if atr == nil {
		return nil
	}
	var out []string
	for _, c := range b.Contestants {
		r := b.Result(sc.Name, c.Name)
		if c.Name == Atrion.Name || r == nil {
			continue
		}
		if r.Score.Success > atr.Score.Success+servedMargin && r.Score.WastedCalls < atr.Score.WastedCalls {
			out = append(out, c.Name)
		}
	}
	return out
}

// table is a Markdown table whose columns are padded so that it also
// reads as plain text.
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				sb.WriteString(" " + c + pad + " |")
			} else {
				sb.WriteString(" " + pad + c + " |")
			}
		}
		fmt.Fprintln(w, sb.String())
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
		if i > 0 {
			sep[i] = sep[i][:width[i]-1] + ":"
		}
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
}

// ScoreRow formats a scorecard as table cells: goodput, served (whole run
// and incident), shed, wasted (share and calls), p50, p99, trip, recover,
// transitions, latched.
func ScoreRow(s Scorecard) []string {
	tr := "—"
	if s.Transitions >= 0 {
		tr = fmt.Sprint(s.Transitions)
	}
	latched := ""
	if s.Latched {
		latched = "LATCHED"
	}
	return []string{
		fmt.Sprintf("%.1f", s.Goodput), pct(s.Success), pct(s.SuccessIncident), pct(s.Shed),
		fmt.Sprintf("%s (%d)", pct(s.Wasted), s.WastedCalls),
		fmtLatency(s.P50), fmtLatency(s.P99), fmtDur(s.TimeToTrip), fmtDur(s.TimeToRecover), tr, latched,
	}
}

var scoreHead = []string{"contestant", "goodput/s", "served", "served (incident)", "shed", "wasted (calls)", "p50", "p99", "trip", "recover", "transitions", "latch", "checks"}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
}

// WriteScorecards writes, per scenario, its description, one scorecard row
// per contestant (with the checks it passes) and Atrion's verdicts.
func (b *Board) WriteScorecards(w io.Writer) {
	for _, sc := range b.Scenarios {
		fmt.Fprintf(w, "### %s (`%s`, %s)\n\n%s\n\n", sc.Title, sc.Name, sc.Kind, sc.About)
		t := &table{head: scoreHead}
		for _, c := range b.Contestants {
			if r := b.Result(sc.Name, c.Name); r != nil {
				vs := b.Judge(sc, c.Name)
				row := append([]string{c.Name}, ScoreRow(r.Score)...)
				t.add(append(row, fmt.Sprintf("%d/%d", passed(vs), len(vs)))...)
			}
		}
		t.write(w)
		fmt.Fprintln(w)
		for _, v := range b.Verdicts(sc) {
			mark := "pass"
			if !v.Pass {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "- Atrion %s: %s — %s\n", mark, v.Check, v.Seen)
		}
		fmt.Fprintln(w)
	}
}

// WriteSummary writes one row per scenario: each contestant's share of
// legit requests served and its wasted calls, the contestants that
// dominate Atrion, and Atrion's checks passed; then each contestant's mean
// served share and total wasted calls.
func (b *Board) WriteSummary(w io.Writer) {
	head := []string{"scenario", "kind"}
	for _, c := range b.Contestants {
		head = append(head, c.Name)
	}
	head = append(head, "dominated by", "Atrion checks")
	t := &table{head: head}
	for _, sc := range b.Scenarios {
		row := []string{sc.Name, string(sc.Kind)}
		for _, c := range b.Contestants {
			cell := "—"
			if r := b.Result(sc.Name, c.Name); r != nil {
				cell = fmt.Sprintf("%s / %d", pct(r.Score.Success), r.Score.WastedCalls)
				if r.Score.Latched {
					cell += " L"
				}
			}
			row = append(row, cell)
		}
		dom := strings.Join(b.DominatedBy(sc), ", ")
		if dom == "" {
			dom = "—"
		}
		vs := b.Verdicts(sc)
		t.add(append(row, dom, fmt.Sprintf("%d/%d", passed(vs), len(vs)))...)
	}
	row := []string{"**mean / total**", ""}
	for _, c := range b.Contestants {
		m, total, n := 0.0, 0, 0
		for _, sc := range b.Scenarios {
			if r := b.Result(sc.Name, c.Name); r != nil {
				m += r.Score.Success
				total += r.Score.WastedCalls
				n++
			}
		}
		row = append(row, fmt.Sprintf("%s / %d", pct(m/float64(max(1, n))), total))
	}
	t.add(append(row, "", "")...)
	fmt.Fprintf(w, "Seed %d. Served share of legit requests / wasted calls (admitted, then failed, timed out or cancelled); L = latched. Dominated by: contestants that serve more (by > %.1f points) and waste fewer calls than Atrion.\n\n", b.Seed, 100*servedMargin)
	t.write(w)
}

// WriteMeans writes, for boards of the same scenarios and contestants on
// several seeds, each contestant's served share and wasted calls per
// scenario averaged over the seeds, and its mean served share per seed
// and overall.
func WriteMeans(w io.Writer, boards []*Board) {
	if len(boards) == 0 {
		return
	}
	b0 := boards[0]
	head := []string{"scenario"}
	for _, c := range b0.Contestants {
		head = append(head, c.Name)
	}
	t := &table{head: head}
	perSeed := make([][]float64, len(boards)) // seed → contestant → mean served
	for i := range perSeed {
		perSeed[i] = make([]float64, len(b0.Contestants))
	}
	for _, sc := range b0.Scenarios {
		row := []string{sc.Name}
		for k, c := range b0.Contestants {
			served, wasted, n := 0.0, 0, 0
			for i, b := range boards {
				if r := b.Result(sc.Name, c.Name); r != nil {
					served += r.Score.Success
					wasted += r.Score.WastedCalls
					perSeed[i][k] += r.Score.Success / float64(len(b0.Scenarios))
					n++
				}
			}
			cell := "—"
			if n > 0 {
				cell = fmt.Sprintf("%s / %d", pct(served/float64(n)), wasted/n)
			}
			row = append(row, cell)
		}
		t.add(row...)
	}
	for i, b := range boards {
		row := []string{fmt.Sprintf("**mean, seed %d**", b.Seed)}
		for k := range b0.Contestants {
			row = append(row, pct(perSeed[i][k]))
		}
		t.add(row...)
	}
	row := []string{"**mean, all seeds**"}
	for k := range b0.Contestants {
		m := 0.0
		for i := range boards {
			m += perSeed[i][k] / float64(len(boards))
		}
		row = append(row, pct(m))
	}
	t.add(row...)
	seeds := make([]string, len(boards))
	for i, b := range boards {
		seeds[i] = fmt.Sprint(b.Seed)
	}
	fmt.Fprintf(w, "Mean over seeds %s: served share / wasted calls per scenario, then each contestant's mean served share over the scenarios.\n\n", strings.Join(seeds, ", "))
	t.write(w)
}

// Settings writes each contestant's settings.
func (b *Board) Settings(w io.Writer) {
	for _, c := range b.Contestants {
		fmt.Fprintf(w, "- `%s`: %s\n", c.Name, c.Settings)
	}
}

// JSONScorecard is a board's scorecard for machines: the shape
// `simulate -json` writes (see /work/shared/tools/windtunnel-goals).
type JSONScorecard struct {
	Seed      uint64         `json:"seed"`
	Scenarios []JSONScenario `json:"scenarios"`
}

// JSONScenario is one scenario's row of a JSONScorecard.
type JSONScenario struct {
	Name        string           `json:"name"`
	Kind        Kind             `json:"kind"`
	Contestants []JSONContestant `json:"contestants"`
}

// JSONContestant is one contestant's score on a scenario: served shares
// (0..1) over the run and inside the incident window, wasted calls, p99
// latency of admitted entry calls, shed share, state changes (0 for a
// guard without states) and the scenario's checks it passes.
type JSONContestant struct {
	Name           string  `json:"name"`
	Served         float64 `json:"served"`
	ServedIncident float64 `json:"served_incident"`
	Wasted         int     `json:"wasted"`
	P99Ms          float64 `json:"p99_ms"`
	Shed           float64 `json:"shed"`
	StateChanges   int     `json:"state_changes"`
	ChecksPassed   int     `json:"checks_passed"`
	Checks         int     `json:"checks"`
}

// JSON returns the board's scorecard for machines.
func (b *Board) JSON() JSONScorecard {
	out := JSONScorecard{Seed: b.Seed, Scenarios: []JSONScenario{}}
	for _, sc := range b.Scenarios {
		js := JSONScenario{Name: sc.Name, Kind: sc.Kind, Contestants: []JSONContestant{}}
		for _, c := range b.Contestants {
			r := b.Result(sc.Name, c.Name)
			if r == nil {
				continue
			}
			vs := b.Judge(sc, c.Name)
			js.Contestants = append(js.Contestants, JSONContestant{
				Name: c.Name, Served: round4(r.Score.Success), ServedIncident: round4(r.Score.SuccessIncident),
				Wasted: r.Score.WastedCalls, P99Ms: round4(float64(r.Score.P99) / 1e6), Shed: round4(r.Score.Shed),
				StateChanges: max(0, r.Score.Transitions), ChecksPassed: passed(vs), Checks: len(vs),
			})
		}
		out.Scenarios = append(out.Scenarios, js)
	}
	return out
}

// WriteJSON writes the board's scorecard for machines, indented.
func (b *Board) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(b.JSON())
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
