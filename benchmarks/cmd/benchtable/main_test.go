package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// output is real `go test -bench` output, two runs per benchmark, with the
// noise that surrounds results.
const output = `goos: linux
goarch: amd64
pkg: github.com/atrion-go/atrion/benchmarks/hotpath
cpu: Intel(R) Xeon(R) Processor
BenchmarkSerial/floor-2         	 8891631	        70.00 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkSerial/atrion-2        	 7440452	        50.00 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkSerial/sentinel-2      	  806012	       999.9 ns/op	         0 rejects/op	     274 B/op	       8 allocs/op
BenchmarkParallel/atrion-2      	 4146456	       100.0 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkParallel/gobreaker-2   	 2835399	       213.4 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkSerial/floor-2         	 8891631	        72.00 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkSerial/atrion-2        	 7440452	        54.00 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkSerial/sentinel-2      	  806012	      1000.1 ns/op	         0 rejects/op	     276 B/op	       8 allocs/op
BenchmarkParallel/atrion-2      	 4146456	       100.0 ns/op	         0 rejects/op	       0 B/op	       0 allocs/op
BenchmarkParallel/gobreaker-2   	 2835399	       213.4 ns/op	       0.5 rejects/op	       0 B/op	       0 allocs/op
PASS
ok  	github.com/atrion-go/atrion/benchmarks/hotpath	14.418s
`

func render(t *testing.T, in string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(nil, "atrion", "floor", false, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTable(t *testing.T) {
	got := render(t, output)
	for _, want := range []string{
		"| benchmark | ns/op | × atrion | B/op | allocs/op | rejects/op |\n",
		"| Serial/floor-2 | 71 ± ∞ | 1.37 | 0 | 0 | 0 |\n",         // median of 70 and 72, over 52
		"| Serial/atrion-2 | 52 ± ∞ | 1.00 | 0 | 0 | 0 |\n",        // its own baseline
		"| Serial/sentinel-2 | 1000 ± ∞ | 19.23 | 275 | 8 | 0 |\n", // ratio within its own group
		"| Parallel/gobreaker-2 | 213 ± ∞ | 2.13 | 0 | 0 | 0.25 |\n",
		"Median of 2 runs per benchmark; ± is the 95 % confidence interval of the ns/op median, as benchstat computes it (∞: too few runs). goos: linux. goarch: amd64.",
		"cpu: Intel(R) Xeon(R) Processor.\n",
		"Serial: atrion is 0.73× floor.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Parallel: atrion is") {
		t.Errorf("a group without a floor got a floor line:\n%s", got)
	}
}

func TestReadsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(path, []byte(output), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{path}, "atrion", "", false, nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| Serial/atrion-2 | 52 ± ∞ | 1.00 |") || strings.Contains(out.String(), "× floor") {
		t.Errorf("unexpected table:\n%s", out.String())
	}
}

func TestNoBaseline(t *testing.T) {
	got := render(t, "BenchmarkX-4 100 5.5 ns/op\nBenchmarkY 100 12345 ns/op\n")
	for _, want := range []string{"| X-4 | 5.50 ± ∞ | – |\n", "| Y | 12345 ± ∞ | – |\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

// TestBadInput feeds malformed lines: they are skipped, never a crash, and
// input with no result at all or a failure is an error.
func TestBadInput(t *testing.T) {
	skipped := []string{
		"BenchmarkBad-2 abc 5 ns/op",          // iterations not a number
		"BenchmarkBad-2 0 5 ns/op",            // no iterations
		"BenchmarkBad-2 10 five ns/op",        // value not a number
		"BenchmarkBad-2 10 NaN ns/op",         // not a finite value
		"BenchmarkBad-2 10 +Inf ns/op",        // not a finite value
		"BenchmarkBad-2 10 -3 ns/op",          // negative
		"BenchmarkBad-2 10 5 ns/op 7",         // value without a unit
		"BenchmarkBad-2 10 5 B/op",            // no ns/op
		"BenchmarkBad-2",                      // no fields
		"Benchmark-2 10 5 ns/op",              // no name
		"BenchmarkBad-2 10 5 ns/op\x00 x y",   // garbage after the result
		strings.Repeat("BenchmarkLong ", 1e4), // long line, odd fields
	}
	got := render(t, strings.Join(skipped, "\n")+"\nBenchmarkGood-2 10 5 ns/op\n")
	if rows := strings.Count(got, "\n| "); rows != 1 || !strings.Contains(got, "| Good-2 | 5 ± ∞ |") {
		t.Errorf("bad lines not skipped:\n%s", got)
	}

	for name, in := range map[string]string{
		"empty":     "",
		"no result": "goos: linux\nPASS\n",
		"only bad":  strings.Join(skipped, "\n"),
		"failed":    "BenchmarkA-2 10 5 ns/op\n--- FAIL: BenchmarkA\nFAIL\n",
		"build":     "FAIL\tgithub.com/x/y [build failed]\n",
		"panic":     "BenchmarkA-2 10 5 ns/op\npanic: boom\n",
		"huge line": "BenchmarkA-2 10 5 ns/op\n" + strings.Repeat("x", 2<<20) + "\n",
	} {
		var out bytes.Buffer
		if err := run(nil, "atrion", "floor", false, strings.NewReader(in), &out); err == nil {
			t.Errorf("%s: no error; output:\n%s", name, out.String())
		}
	}
	if err := run([]string{"a", "b"}, "atrion", "floor", false, nil, new(bytes.Buffer)); err == nil {
		t.Error("two files: no error")
	}
	if err := run([]string{filepath.Join(t.TempDir(), "missing")}, "atrion", "floor", false, nil, new(bytes.Buffer)); err == nil {
		t.Error("missing file: no error")
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 8: "8", 0.25: "0.25", 0.001234: "0.00123", 5.5: "5.50", 52.25: "52.2", 999.9: "1000", 2345.6: "2346"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

// With -added, what a benchmark adds to its baseline is the median of the
// paired run-by-run differences: here the drift between rounds (the second
// round is 100 ns slower for all) cancels, where a difference of medians
// would not.
func TestAdded(t *testing.T) {
	const in = `BenchmarkGin/bare-2   	1000	   40.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGin/atrgin-2 	1000	  100.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGin/bare-2   	1000	  140.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGin/atrgin-2 	1000	  210.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGin/bare-2   	1000	   50.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkGin/atrgin-2 	1000	  115.00 ns/op	      16 B/op	       1 allocs/op
BenchmarkEcho/bare-2  	1000	   30.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkEcho/atrecho-2	1000	   20.00 ns/op	       0 B/op	       0 allocs/op
`
	var out bytes.Buffer
	if err := run(nil, "bare", "", true, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| benchmark | ns/op | × bare | added ns/op | added allocs/op | B/op | allocs/op |\n",
		"| Gin/bare-2 | 50 ± ∞ | 1.00 | – | – | 0 | 0 |\n",
		"| Gin/atrgin-2 | 115 ± ∞ | 2.30 | +65 | 0 | 0 | 0 |\n", // differences 60, 70, 65
		"| Echo/atrecho-2 | 20 ± ∞ | 0.67 | −10 | 0 | 0 | 0 |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

// With enough runs the interval beside the median is finite: benchstat's
// 95 % interval of the median, which for 8 runs spans the smallest to the
// largest (a confidence of 99.2 %), here 3 % either side of 103.5.
func TestConfidenceInterval(t *testing.T) {
	var in strings.Builder
	for _, ns := range []int{107, 100, 106, 101, 105, 102, 104, 103} {
		fmt.Fprintf(&in, "BenchmarkA/atrion-2 1000 %d ns/op\n", ns)
	}
	got := render(t, in.String())
	if want := "| A/atrion-2 | 104 ± 3% | 1.00 |"; !strings.Contains(got, want) {
		t.Errorf("table lacks %q:\n%s", want, got)
	}
}
