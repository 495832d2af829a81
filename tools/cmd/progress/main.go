// Command progress runs a long step and keeps it talking: it passes the
// step's output through and, whenever the step has said nothing for
// -every (10 s), prints how long it has run and what it is doing, so that
// a compile on a cold cache never looks hung.
//
//	progress -label "make demo: compiling the demo" -packages -- go build -v -o demo .
//
// With -packages the step is a go command given -v: the import paths it
// prints (one per package compiled) are counted and the latest is named
// in the next beat instead of being echoed, e.g.
//
//	make demo: compiling: 1 min 5 s, 99 packages compiled, the latest net/netip
//
// A step that ran longer than -every ends with "LABEL: done in N s", one
// that failed with its exit code; progress exits with the step's.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/atrion-go/atrion/tools/internal/heartbeat"
)

func main() {
	every := flag.Duration("every", 10*time.Second, "the longest `silence` before a beat")
	label := flag.String("label", "", "what the step is doing, as the beats say it")
	packages := flag.Bool("packages", false, "the step is a go command with -v: count the packages it names instead of echoing them")
	flag.Parse()
	if flag.NArg() == 0 || *every <= 0 {
		fmt.Fprintln(os.Stderr, "usage: progress [-every 10s] [-label TEXT] [-packages] -- command [args...]")
		os.Exit(2)
	}
	if *label == "" {
		*label = flag.Arg(0)
	}
	os.Exit(run(flag.Args(), *label, *every, *packages, os.Stdout, os.Stderr))
}

// importPath is a line go build -v or go vet -v prints for a package: an
// import path alone (errors and notes have spaces or colons).
var importPath = regexp.MustCompile(`^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~+-]+)*$`)

// run runs args, writing its output to stdout and stderr with beats, and
// returns its exit code (127 when it could not start).
func run(args []string, label string, every time.Duration, packages bool, stdout, stderr io.Writer) int {
	var count int
	var latest string
	b := heartbeat.Start(stdout, every, func(elapsed time.Duration) string {
		line := label + ": " + heartbeat.Seconds(elapsed)
		if count > 0 {
			line += fmt.Sprintf(", %d packages compiled, the latest %s", count, latest)
		}
		return line
	})
	defer b.Stop()

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = os.Stdin
	outR, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 127
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 127
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 127
	}
	var wg sync.WaitGroup
	copyLines := func(r io.Reader, w io.Writer) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if packages && importPath.MatchString(line) {
				b.Lock()
				count++
				latest = line
				b.Unlock()
				continue
			}
			fmt.Fprintln(w, line)
		}
		io.Copy(io.Discard, r) // a line past the buffer: drain, so the step never blocks
	}
	wg.Add(2)
	go copyLines(outR, b)
	go copyLines(errR, b.To(stderr))
	wg.Wait()
	err = cmd.Wait()
	code := 0
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		code = exit.ExitCode()
	default:
		fmt.Fprintln(b.To(stderr), "progress:", err)
		code = 1
	}
	// a long step's time, so that whoever waited knows what to expect
	// next time, and a failure's; a quick success needs no line
	switch elapsed := b.Elapsed(); {
	case code != 0:
		fmt.Fprintf(b, "%s: failed (exit %d) after %s\n", label, code, heartbeat.Seconds(elapsed))
	case elapsed >= every:
		fmt.Fprintf(b, "%s: done in %s\n", label, heartbeat.Seconds(elapsed))
	}
	return code
}
