// Command testsummary reads `go test -json` and prints it as a person
// would read `go test`: one line per package, the whole output of each
// failed test, and at the end a summary that names every skipped test
// with the reason it gave, so that a test skipped for a missing tool
// (redis-server, chromium, promtool) never reads as a pass.
//
// make test pipes each module's tests through it, recording in a state
// file, then asks for the report:
//
//	go test -json ./... | testsummary -state FILE    (once per module)
//	testsummary -report -state FILE                  (the summary)
//
// While it streams, a run that has printed nothing for -every (10 s) gets
// a line saying how long it has run and what it is doing (compiling, or
// which packages and tests are running), e.g.
//
//	go test adapters/grpc: 1 min 20 s, 2 packages done, running adapters/grpc (TestServerKeys)
//
// The report ends with a line "tests: N passed, N failed, N skipped"
// (subtests included) and exits 1 when a test or a package failed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atrion-go/atrion/tools/internal/heartbeat"
)

// event is one line of go test -json (test2json's TestEvent).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string // build-output events
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

// record is what the state file keeps of one finished test or package.
type record struct {
	Action  string // pass, fail or skip
	Package string
	Test    string // "" for a package
	Reason  string // a skip's message
}

const modulePrefix = "github.com/atrion-go/atrion/"

func main() {
	state := flag.String("state", "", "the `file` that collects results across runs")
	report := flag.Bool("report", false, "print the summary of the state file")
	every := flag.Duration("every", 10*time.Second, "while streaming, the longest `silence` before a line saying what is running (0: none)")
	label := flag.String("label", "go test", "what the beats call the run")
	flag.Parse()
	if *state == "" {
		fmt.Fprintln(os.Stderr, "usage: testsummary -state FILE [-report]")
		os.Exit(2)
	}
	if *report {
		recs, err := readState(*state)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
		if !summarize(os.Stdout, recs) {
			os.Exit(1)
		}
		return
	}
	f, err := os.OpenFile(*state, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	defer f.Close()
	var out io.Writer = os.Stdout
	var prog *progress
	if *every > 0 {
		prog = &progress{label: *label, running: map[string]string{}}
		b := heartbeat.Start(os.Stdout, *every, prog.status)
		prog.lock = b
		out = b
		defer b.Stop()
	}
	if !stream(os.Stdin, out, json.NewEncoder(f), prog) {
		os.Exit(1)
	}
}

// progress is what a beat says about a run: the packages running (each
// with its latest test started) and how many are done.
type progress struct {
	lock    sync.Locker // the beat's: status runs under it
	label   string
	running map[string]string // package → its latest test, "" before any
	done    int
}

// update records e under the beat's lock.
func (p *progress) update(e *event) {
	if p == nil || e.Package == "" {
		return
	}
	p.lock.Lock()
	defer p.lock.Unlock()
	switch {
	case e.Action == "start" || e.Action == "run" && e.Test != "":
		p.running[e.Package] = e.Test
	case (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") && e.Test == "":
		delete(p.running, e.Package)
		p.done++
	}
}

// status is the beat's line: the run's time, then what it is waiting on.
func (p *progress) status(elapsed time.Duration) string {
	line := p.label + ": " + heartbeat.Seconds(elapsed)
	if p.done > 0 {
		line += fmt.Sprintf(", %d packages done", p.done)
	}
	if len(p.running) == 0 {
		return line + ", compiling (no test binary running)"
	}
	pkgs := make([]string, 0, len(p.running))
	for pkg := range p.running {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	for i, pkg := range pkgs {
		if i == 0 {
			line += ", running "
		} else {
			line += ", "
		}
		line += short(pkg)
		if t := p.running[pkg]; t != "" {
			line += " (" + t + ")"
		}
	}
	return line
}

// stream prints the readable form of the events in r to w and encodes a
// record of each finished test and package to rec, and keeps prog (nil:
// none) up to date. It returns false when something failed.
func stream(r io.Reader, w io.Writer, rec *json.Encoder, prog *progress) bool {
	ok := true
	output := map[string][]string{} // package + test → its output lines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line) // go's own messages, e.g. a setup error
			continue
		}
		prog.update(&e)
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "output":
			if e.Test == "" {
				// go test's own lines, shown by the package's ok or FAIL line
				if o := e.Output; o != "PASS\n" && o != "FAIL\n" && o != "testing: warning: no tests to run\n" && !strings.HasPrefix(o, "=== ") {
					fmt.Fprint(w, o)
				}
				continue
			}
			output[key] = append(output[key], e.Output)
		case "pass", "fail", "skip":
			r := record{Action: e.Action, Package: short(e.Package), Test: e.Test}
			switch {
			case e.Action == "skip" && e.Test != "":
				r.Reason = skipReason(output[key])
			case e.Action == "fail" && e.Test != "":
				ok = false
				fmt.Fprintf(w, "--- FAIL: %s %s\n%s", r.Package, e.Test, strings.Join(output[key], ""))
			case e.Action == "fail":
				ok = false
			}
			delete(output, key)
			if err := rec.Encode(r); err != nil {
				fmt.Fprintln(os.Stderr, "testsummary:", err)
				ok = false
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		ok = false
	}
	return ok
}

// skipReason is a skipped test's message: its output without the lines
// the test framework writes itself, each line trimmed of its file:line.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if i := strings.Index(l, ": "); i > 0 && strings.Contains(l[:i], ".go:") {
			l = l[i+2:]
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func short(pkg string) string {
	if s := strings.TrimPrefix(pkg, modulePrefix); s != "" {
		return s
	}
	return pkg
}

func readState(name string) ([]record, error) {
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []record
	dec := json.NewDecoder(f)
	for {
		var r record
		if err := dec.Decode(&r); err == io.EOF {
			return recs, nil
		} else if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
}

// summarize prints the skipped tests, grouped by reason, the failed ones
// and the counts; it returns false when anything failed.
func summarize(w io.Writer, recs []record) bool {
	var passed, failed, skipped int
	var failures []string
	byReason := map[string][]string{}
	passedSomewhere := map[string]bool{} // a test skipped in one run may pass in another
	for _, r := range recs {
		if r.Test != "" && r.Action == "pass" {
			passedSomewhere[r.Package+" "+r.Test] = true
		}
	}
	for _, r := range recs {
		name := r.Package
		if r.Test != "" {
			name += " " + r.Test
		}
		switch {
		case r.Test == "" && r.Action == "fail":
			failures = append(failures, name+" (package)")
		case r.Test == "":
		case r.Action == "pass":
			passed++
		case r.Action == "fail":
			failed++
			failures = append(failures, name)
		case r.Action == "skip":
			skipped++
			if passedSomewhere[name] {
				name += " (passed in another run)"
			}
			byReason[r.Reason] = append(byReason[r.Reason], name)
		}
	}
	if skipped > 0 {
		fmt.Fprintf(w, "\n== %d skipped tests, by reason\n", skipped)
		reasons := make([]string, 0, len(byReason))
		for r := range byReason {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool {
			return len(byReason[reasons[i]]) > len(byReason[reasons[j]]) || len(byReason[reasons[i]]) == len(byReason[reasons[j]]) && reasons[i] < reasons[j]
		})
		for _, r := range reasons {
			fmt.Fprintf(w, "%s (%d):\n", r, len(byReason[r]))
			for _, n := range byReason[r] {
				fmt.Fprintf(w, "    %s\n", n)
			}
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "\n== failed\n")
		for _, f := range failures {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return len(failures) == 0
}
