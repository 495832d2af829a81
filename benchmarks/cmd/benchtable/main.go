// Command benchtable turns `go test -bench` output into a markdown table:
// the median of each benchmark's runs (one per -count) for every unit it
// reports, with benchstat's 95 % confidence interval beside the ns/op
// median, and its ns/op as a ratio to a baseline benchmark of the same
// group (the same name up to its last slash, with the same GOMAXPROCS).
// It reads the output with golang.org/x/perf/benchfmt and computes the
// intervals with golang.org/x/perf/benchmath, as benchstat does.
//
// Usage:
//
//	go test -bench . -benchmem -count 6 ./hotpath | tee bench.txt
//	benchtable [-base atrion] [-floor floor] [-added] [bench.txt]
//
// With -added it also reports what each benchmark adds to its group's
// baseline, in ns/op and allocs/op: the median of the run-by-run
// differences when the runs were interleaved (the same number of each, as
// from running the test binary once per round), which cancels the drift of
// a shared machine better than a difference of medians.
//
// It reads standard input when no file is named. It fails when the input
// holds no benchmark results or reports a failed test, so a pipeline that
// ends in it fails with the benchmarks.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

func main() {
	base := flag.String("base", "atrion", "last name element of each group's baseline benchmark")
	floor := flag.String("floor", "floor", "last name element of each group's floor benchmark (\"\": none)")
	added := flag.Bool("added", false, "add columns for what each benchmark adds to its baseline")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: benchtable [-base name] [-floor name] [-added] [file]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(flag.Args(), *base, *floor, *added, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(args []string, base, floor string, added bool, stdin io.Reader, out io.Writer) error {
	in := stdin
	switch len(args) {
	case 0:
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		return errors.New("at most one input file")
	}
	res, err := parse(in)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, res.table(base, floor, added))
	return err
}

// sample is one benchmark line: the value per unit, e.g. "ns/op": 41.2.
type sample map[string]float64

// bench is every run of one benchmark.
type bench struct {
	name  string // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	procs int    // GOMAXPROCS, 1 when the name has no suffix
	runs  []sample
}

// group is the name up to its last slash plus GOMAXPROCS: ratios are taken
// within a group.
func (b *bench) group() string {
	dir, _, _ := cut(b.name)
	return dir + "-" + strconv.Itoa(b.procs)
}

// leaf is the name after its last slash.
func (b *bench) leaf() string {
	_, leaf, _ := cut(b.name)
	return leaf
}

func cut(name string) (dir, leaf string, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name, false
	}
	return name[:i], name[i+1:], true
}

// median of the runs' values for unit; ok is false when no run reports it.
func (b *bench) median(unit string) (float64, bool) {
	var vs []float64
	for _, r := range b.runs {
		if v, ok := r[unit]; ok {
			vs = append(vs, v)
		}
	}
	return medianOf(vs)
}

// added is what b adds to base in unit: the median of the run-by-run
// differences when both have the same runs, else the difference of the
// medians.
func (b *bench) added(base *bench, unit string) (float64, bool) {
	if len(b.runs) == len(base.runs) {
		var ds []float64
		for i, r := range b.runs {
			v, ok1 := r[unit]
			w, ok2 := base.runs[i][unit]
			if ok1 && ok2 {
				ds = append(ds, v-w)
			}
		}
		if len(ds) == len(b.runs) {
			return medianOf(ds)
		}
	}
	v, ok1 := b.median(unit)
	w, ok2 := base.median(unit)
	return v - w, ok1 && ok2
}

func medianOf(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	m := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[m], true
	}
	return (vs[m-1] + vs[m]) / 2, true
}

// results is a parsed benchmark output.
type results struct {
	config  []string // goos, goarch, pkg and cpu lines, in order
	benches []*bench // in order of first appearance
	units   []string // every unit seen, ns/op first
}

// parse reads go test output with golang.org/x/perf/benchfmt, the reader
// benchstat uses. Lines that are not results or configuration are skipped;
// a result line that benchfmt cannot read, or with a value that is not a
// finite non-negative number, is skipped whole. Output that reports a
// failure is an error.
func parse(r io.Reader) (*results, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, err
	}
	// go test's failures, which benchfmt skips as noise; and lines too long
	// to be results, which benchfmt's scanner would stop at
	var kept bytes.Buffer
	for line := range strings.Lines(string(data)) {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "--- FAIL") || strings.HasPrefix(t, "FAIL") || strings.HasPrefix(t, "panic:"):
			return nil, fmt.Errorf("the benchmarks failed: %q", t)
		case len(line) > maxLine:
			return nil, fmt.Errorf("a line of %d bytes: not go test output", len(line))
		case len(line) <= maxResultLine:
			kept.WriteString(line)
		}
	}
	res := &results{units: []string{"ns/op"}}
	index := map[string]*bench{}
	br := benchfmt.NewReader(&kept, "input")
	for br.Scan() {
		rec, ok := br.Result().(*benchfmt.Result)
		if !ok { // a syntax error or unit metadata
			continue
		}
		name, procs, s, ok := fromResult(rec)
		if !ok {
			continue
		}
		for _, c := range rec.Config {
			line := c.Key + ": " + string(c.Value)
			if c.File && slices.Contains([]string{"goos", "goarch", "pkg", "cpu"}, c.Key) && !slices.Contains(res.config, line) {
				res.config = append(res.config, line)
			}
		}
		key := name + "-" + strconv.Itoa(procs)
		b := index[key]
		if b == nil {
			b = &bench{name: name, procs: procs}
			index[key] = b
			res.benches = append(res.benches, b)
		}
		b.runs = append(b.runs, s)
		for u := range s {
			if !slices.Contains(res.units, u) {
				res.units = append(res.units, u)
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if len(res.benches) == 0 {
		return nil, errors.New("no benchmark results in the input")
	}
	slices.SortStableFunc(res.units[1:], func(a, b string) int { return unitRank(a) - unitRank(b) })
	return res, nil
}

// Line lengths: a result line is never longer than maxResultLine (the
// size of benchfmt's line buffer); a line longer than maxLine means the
// input is not go test output at all.
const (
	maxResultLine = 32 << 10
	maxLine       = 1 << 20
)

// fromResult reads one benchfmt result in the units go test printed
// (benchfmt tidies ns/op into sec/op; the original is kept beside it).
func fromResult(r *benchfmt.Result) (name string, procs int, s sample, ok bool) {
	if r.Iters <= 0 {
		return "", 0, nil, false
	}
	base, parts := r.Name.Parts()
	name, procs = string(base), 1
	for _, p := range parts {
		if len(p) > 1 && p[0] == '-' {
			if n, err := strconv.Atoi(string(p[1:])); err == nil && n > 0 {
				procs = n
				continue
			}
		}
		name += string(p)
	}
	if name == "" || name[0] == '-' {
		return "", 0, nil, false
	}
	s = sample{}
	for _, v := range r.Values {
		val, unit := v.Value, v.Unit
		if v.OrigUnit != "" {
			val, unit = v.OrigValue, v.OrigUnit
		}
		if val < 0 || math.IsNaN(val) || math.IsInf(val, 0) {
			return "", 0, nil, false
		}
		s[unit] = val
	}
	if _, ok := s["ns/op"]; !ok {
		return "", 0, nil, false
	}
	return name, procs, s, true
}

// unitRank orders the standard -benchmem units first, others after.
func unitRank(u string) int {
	switch u {
	case "B/op":
		return 0
	case "allocs/op":
		return 1
	}
	return 2
}

// confidence is the level of the intervals beside the medians.
const confidence = 0.95

// spread is benchstat's "± x%" for the runs' values of unit: the 95 %
// confidence interval of the median, assuming nothing of the values'
// distribution (golang.org/x/perf/benchmath); "∞" when there are too few
// runs for one (fewer than 6).
func (b *bench) spread(unit string) string {
	var vs []float64
	for _, r := range b.runs {
		if v, ok := r[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return "?"
	}
	sum := benchmath.AssumeNothing.Summary(benchmath.NewSample(vs, &benchmath.DefaultThresholds), confidence)
	return sum.PctRangeString()
}

// table renders the medians as markdown, followed by the configuration and
// each group's baseline against its floor.
func (res *results) table(base, floor string, added bool) string {
	baseline := map[string]float64{}
	baseBench := map[string]*bench{}
	floors := map[string]float64{}
	for _, b := range res.benches {
		ns, _ := b.median("ns/op")
		switch b.leaf() {
		case base:
			baseline[b.group()] = ns
			baseBench[b.group()] = b
		case floor:
			floors[b.group()] = ns
		}
	}
	var sb strings.Builder
	sb.WriteString("| benchmark | ns/op | × " + base + " |")
	cols := len(res.units) - 1
	if added {
		sb.WriteString(" added ns/op | added allocs/op |")
		cols += 2
	}
	for _, u := range res.units[1:] {
		sb.WriteString(" " + u + " |")
	}
	sb.WriteString("\n|---|--:|--:|" + strings.Repeat("--:|", cols) + "\n")
	runs := 0
	for _, b := range res.benches {
		runs = max(runs, len(b.runs))
		ns, _ := b.median("ns/op")
		name := b.name
		if b.procs != 1 {
			name += "-" + strconv.Itoa(b.procs)
		}
		ratio := "–"
		if bl, ok := baseline[b.group()]; ok && bl > 0 {
			ratio = strconv.FormatFloat(ns/bl, 'f', 2, 64)
		}
		fmt.Fprintf(&sb, "| %s | %s ± %s | %s |", name, num(ns), b.spread("ns/op"), ratio)
		if added {
			for _, u := range []string{"ns/op", "allocs/op"} {
				bb := baseBench[b.group()]
				d, ok := 0.0, false
				if bb != nil && bb != b {
					d, ok = b.added(bb, u)
				}
				if !ok {
					sb.WriteString(" – |")
					continue
				}
				sign := "+"
				switch {
				case d == 0:
					sign = ""
				case d < 0:
					sign, d = "−", -d
				}
				sb.WriteString(" " + sign + num(d) + " |")
			}
		}
		for _, u := range res.units[1:] {
			v, ok := b.median(u)
			if !ok {
				sb.WriteString(" – |")
				continue
			}
			sb.WriteString(" " + num(v) + " |")
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "\nMedian of %d runs per benchmark; ± is the %.0f %% confidence interval of the ns/op median, as benchstat computes it (∞: too few runs).", runs, 100*confidence)
	for _, c := range res.config {
		sb.WriteString(" " + c + ".")
	}
	sb.WriteString("\n")
	if floor != "" {
		for _, b := range res.benches {
			fl, ok := floors[b.group()]
			if b.leaf() != base || !ok || fl <= 0 {
				continue
			}
			ns, _ := b.median("ns/op")
			fmt.Fprintf(&sb, "%s: %s is %.2f× %s.\n", strings.TrimSuffix(b.name, "/"+base), base, ns/fl, floor)
		}
	}
	return sb.String()
}

// num formats a value: whole numbers as they are, others with three
// significant digits, as benchstat does.
func num(v float64) string {
	switch {
	case v == math.Trunc(v) && v < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
