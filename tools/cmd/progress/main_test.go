package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A silent step gets beats naming the packages it compiled so far, which
// are counted rather than echoed; its other output passes through on the
// stream it came on, and its exit code is progress's.
func TestBeatsDuringSilence(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not on PATH")
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"sh", "-c", `echo example.com/a >&2; echo example.com/b/c >&2; sleep 0.5; echo "# example.com/b/c" >&2; echo "main.go:3: undefined: x" >&2; echo said so; exit 3`},
		"compiling", 100*time.Millisecond, true, &stdout, &stderr)
	if code != 3 {
		t.Errorf("exit code %d, want the step's 3", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	out := stdout.String()
	if !regexp.MustCompile(`(?m)^compiling: \d+ s, 2 packages compiled, the latest example\.com/b/c$`).MatchString(out) {
		t.Errorf("no beat naming the packages in:\n%s", out)
	}
	echoed := regexp.MustCompile(`(?m)^example\.com/(a|b/c)$`)
	if echoed.MatchString(out) || echoed.MatchString(stderr.String()) {
		t.Errorf("package lines echoed:\nstdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
	if !strings.Contains(out, "said so\n") || !regexp.MustCompile(`\ncompiling: failed \(exit 3\) after \d+ s\n$`).MatchString(out) {
		t.Errorf("stdout lacks the step's line or the verdict:\n%s", out)
	}
	if want := "# example.com/b/c\nmain.go:3: undefined: x\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// A step that keeps talking gets no beat, and a quick success no verdict.
func TestNoBeatWhileTalking(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not on PATH")
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"sh", "-c", `for i in 1 2 3 4 5; do echo line $i; sleep 0.05; done`},
		"testing", 2*time.Second, false, &stdout, &stderr)
	if code != 0 {
		t.Errorf("exit code %d, stderr %s", code, stderr.String())
	}
	if want := regexp.MustCompile(`^line 1\nline 2\nline 3\nline 4\nline 5\n$`); !want.MatchString(stdout.String()) {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
}

// A step that cannot start is an error, not a hang.
func TestMissingCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"/nonexistent/step"}, "x", time.Second, false, &stdout, &stderr); code != 127 {
		t.Errorf("exit code %d, want 127", code)
	}
	if !strings.Contains(stderr.String(), "progress:") {
		t.Errorf("stderr %q names no error", stderr.String())
	}
}

// A long step that succeeds says how long it took.
func TestLongStepSaysItsTime(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not on PATH")
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"sh", "-c", "sleep 0.3"}, "vetting", 100*time.Millisecond, false, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr %s", code, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^vetting: \d+ s\n(.*\n)*vetting: done in \d+ s\n$`).MatchString(stdout.String()) {
		t.Errorf("stdout %q: want beats, then the time", stdout.String())
	}
}
