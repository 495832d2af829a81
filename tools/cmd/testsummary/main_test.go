package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrion-go/atrion/tools/internal/heartbeat"
)

// sample is a package whose tests pass, fail and skip, as real ones do.
const sample = `package sample

import "testing"

func TestPass(t *testing.T) { t.Log("quiet when passing") }

func TestMissingTool(t *testing.T) {
	t.Skip("redis-server not on PATH; install it (e.g. apt-get install redis-server) to run this test")
}

func TestFail(t *testing.T) { t.Error("boom") }

func TestParent(t *testing.T) {
	t.Run("child", func(t *testing.T) { t.Skipf("chromium not found") })
	t.Run("other", func(t *testing.T) {})
}
`

// The stream shows what go test would (a failure's output, the package
// lines), and the report names each skipped test with its reason and
// counts every test, from real go test -json output.
func TestStreamAndReport(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sample\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sample_test.go"), []byte(sample), 0o644)
	cmd := exec.Command(goBin, "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	js, _ := cmd.Output() // the sample fails on purpose

	var shown, state bytes.Buffer
	if stream(bytes.NewReader(js), &shown, json.NewEncoder(&state), nil) {
		t.Error("stream reported success for a failing package")
	}
	out := shown.String()
	for _, want := range []string{"--- FAIL: example.com/sample TestFail", "boom", "FAIL\texample.com/sample"} {
		if !strings.Contains(out, want) {
			t.Errorf("stream output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quiet when passing") {
		t.Errorf("a passing test's log was shown:\n%s", out)
	}

	var recs []record
	dec := json.NewDecoder(&state)
	for dec.More() {
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	var report bytes.Buffer
	if summarize(&report, recs) {
		t.Error("the report passed a failing run")
	}
	rep := report.String()
	for _, want := range []string{
		"redis-server not on PATH; install it (e.g. apt-get install redis-server) to run this test (1):\n    example.com/sample TestMissingTool",
		"chromium not found (1):\n    example.com/sample TestParent/child",
		"== failed\n    example.com/sample TestFail",
		"\ntests: 3 passed, 1 failed, 2 skipped\n",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

// A test skipped in one run (under -race) and passed in another says so.
func TestSkippedThenPassed(t *testing.T) {
	var b bytes.Buffer
	summarize(&b, []record{
		{Action: "skip", Package: "adapters/gin", Test: "TestAllocs", Reason: "not under race"},
		{Action: "pass", Package: "adapters/gin", Test: "TestAllocs"},
	})
	if !strings.Contains(b.String(), "adapters/gin TestAllocs (passed in another run)") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestSkipReason(t *testing.T) {
	lines := []string{"=== RUN   TestX\n", "    x_test.go:12: promtool not found; skipping\n", "--- SKIP: TestX (0.00s)\n"}
	if got := skipReason(lines); got != "promtool not found; skipping" {
		t.Errorf("skipReason = %q", got)
	}
	if got := skipReason(nil); got != "(no reason given)" {
		t.Errorf("skipReason(nil) = %q", got)
	}
}

// While go test is silent, the beats say what it is waiting on: first the
// compile, then the package and test running; events that flow keep them
// quiet.
func TestBeatsWhileSilent(t *testing.T) {
	pr, pw := io.Pipe()
	var out lockedBuffer
	prog := &progress{label: "go test adapters/gin", running: map[string]string{}}
	b := heartbeat.Start(&out, 50*time.Millisecond, prog.status)
	prog.lock = b
	done := make(chan bool)
	go func() { done <- stream(pr, b, json.NewEncoder(io.Discard), prog) }()

	pkg := "github.com/atrion-go/atrion/adapters/gin"
	time.Sleep(150 * time.Millisecond) // compiling
	fmt.Fprintf(pw, `{"Action":"start","Package":%q}`+"\n", pkg)
	fmt.Fprintf(pw, `{"Action":"run","Package":%q,"Test":"TestSlow"}`+"\n", pkg)
	time.Sleep(150 * time.Millisecond) // the test runs
	fmt.Fprintf(pw, `{"Action":"pass","Package":%q,"Test":"TestSlow"}`+"\n", pkg)
	fmt.Fprintf(pw, `{"Action":"output","Package":%q,"Output":"ok  \tgithub.com/atrion-go/atrion/adapters/gin\t0.3s\n"}`+"\n", pkg)
	fmt.Fprintf(pw, `{"Action":"pass","Package":%q}`+"\n", pkg)
	time.Sleep(150 * time.Millisecond) // the next package compiles
	pw.Close()
	if !<-done {
		t.Error("stream failed a passing run")
	}
	b.Stop()

	got := out.String()
	at := func(pattern string) int { // where pattern first matches, the seconds being whatever the machine took
		loc := regexp.MustCompile(pattern).FindStringIndex(got)
		if loc == nil {
			return -1
		}
		return loc[0]
	}
	compiling := at(`(?m)^go test adapters/gin: \d+ s, compiling \(no test binary running\)$`)
	running := at(`(?m)^go test adapters/gin: \d+ s, running adapters/gin \(TestSlow\)$`)
	ok := at("ok  \tgithub.com/atrion-go/atrion/adapters/gin")
	after := at(`(?m)^go test adapters/gin: \d+ s, 1 packages done, compiling \(no test binary running\)$`)
	if compiling < 0 || running < compiling || ok < running || after < ok {
		t.Errorf("beats out of order or missing (%d %d %d %d):\n%s", compiling, running, ok, after, got)
	}
}

// lockedBuffer is a bytes.Buffer the beat's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
