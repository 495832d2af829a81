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
	"time"
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
	if !stream(os.Stdin, os.Stdout, json.NewEncoder(f)) {
		os.Exit(1)
	}
}

// stream prints the readable form of the events in r to w and encodes a
// record of each finished test and package to rec. It returns false when
// something failed.
func stream(r io.Reader, w io.Writer, rec *json.Encoder) bool {
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
