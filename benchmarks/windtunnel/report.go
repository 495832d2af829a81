package windtunnel

import (
	"fmt"
	"io"
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
func (b *Board) Verdicts(sc Scenario) []Verdict {
	atr := b.Result(sc.Name, Atrion.Name)
	if atr == nil {
		return nil
	}
	return sc.Judge(atr, b.results[sc.Name])
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

// ScoreRow formats a scorecard as table cells: goodput, served, shed,
// wasted (share and calls), p50, p99, trip, recover, transitions, latched.
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
		fmt.Sprintf("%.1f", s.Goodput), pct(s.Success), pct(s.Shed),
		fmt.Sprintf("%s (%d)", pct(s.Wasted), s.WastedCalls),
		fmtLatency(s.P50), fmtLatency(s.P99), fmtDur(s.TimeToTrip), fmtDur(s.TimeToRecover), tr, latched,
	}
}

var scoreHead = []string{"contestant", "goodput/s", "served", "shed", "wasted (calls)", "p50", "p99", "trip", "recover", "transitions", "latch"}

func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
}

// WriteScorecards writes, per scenario, its description, one scorecard row
// per contestant and Atrion's verdicts.
func (b *Board) WriteScorecards(w io.Writer) {
	for _, sc := range b.Scenarios {
		fmt.Fprintf(w, "### %s (`%s`)\n\n%s\n\n", sc.Title, sc.Name, sc.About)
		t := &table{head: scoreHead}
		for _, c := range b.Contestants {
			if r := b.Result(sc.Name, c.Name); r != nil {
				t.add(append([]string{c.Name}, ScoreRow(r.Score)...)...)
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
// legit requests served and its wasted calls, and Atrion's checks passed.
func (b *Board) WriteSummary(w io.Writer) {
	head := []string{"scenario"}
	for _, c := range b.Contestants {
		head = append(head, c.Name)
	}
	head = append(head, "Atrion checks")
	t := &table{head: head}
	for _, sc := range b.Scenarios {
		row := []string{sc.Name}
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
		pass, n := 0, 0
		for _, v := range b.Verdicts(sc) {
			n++
			if v.Pass {
				pass++
			}
		}
		row = append(row, fmt.Sprintf("%d/%d", pass, n))
		t.add(row...)
	}
	fmt.Fprintln(w, "Served share of legit requests / wasted calls (admitted, then failed); L = latched.")
	fmt.Fprintln(w)
	t.write(w)
}

// Settings writes each contestant's settings.
func (b *Board) Settings(w io.Writer) {
	for _, c := range b.Contestants {
		fmt.Fprintf(w, "- `%s`: %s\n", c.Name, c.Settings)
	}
}
