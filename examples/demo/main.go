// Command demo runs a small shop front (gin) protected by Atrion in front
// of a backend with injected faults, beside an unprotected twin under the
// same load, for about a minute: healthy → dependency failing → overload →
// recovery. It prints a live per-route table, serves the Decision
// Dashboard, ends with a summary of goodput and p99 with and without
// protection, and exits 0. Everything runs on loopback.
//
// On a terminal the dashboard stays up after the summary until Enter or
// Ctrl-C; without one (tests, CI, a pipe) the demo exits after it.
//
//	go run .                 # about a minute
//	go run . -keep           # keep cycling the phases until Ctrl-C
//	go run . -addr 127.0.0.1:9000 -duration 2m
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the demo's command line.
type config struct {
	duration time.Duration
	keep     bool
	addr     string
	addrSet  bool
	controls bool
	scale    float64
	out      io.Writer
	tty      bool      // redraw in place with ANSI codes
	hold     io.Reader // when set (a person at a terminal), the dashboard stays up after the summary until a line is read from it
}

func parseFlags(args []string, out io.Writer) (config, error) {
	cfg := config{out: out}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.DurationVar(&cfg.duration, "duration", 60*time.Second, "length of one pass through the phases (10s..1h)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep cycling the phases until interrupted")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:7777", "dashboard address (any free port if the default is taken)")
	fs.BoolVar(&cfg.controls, "controls", false, "turn on the dashboard's evict control, with a random token printed at start")
	fs.Float64Var(&cfg.scale, "scale", 1, "scale the load and the backend's capacity together (0.1..4), for slow or fast machines")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { cfg.addrSet = cfg.addrSet || f.Name == "addr" })
	if cfg.duration < 10*time.Second || cfg.duration > time.Hour {
		return cfg, fmt.Errorf("-duration %v: must be between 10s and 1h", cfg.duration)
	}
	if !(cfg.scale >= 0.1 && cfg.scale <= 4) { // also refuses NaN
		return cfg, fmt.Errorf("-scale %v: must be between 0.1 and 4", cfg.scale)
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	cfg.out = os.Stdout
	if isTerminal(os.Stdout) {
		cfg.tty = os.Getenv("TERM") != "dumb"
	}
	if isTerminal(os.Stdin) && isTerminal(os.Stdout) && os.Getenv("CI") == "" {
		cfg.hold = os.Stdin
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run starts the world, plays the script (again and again with -keep)
// until it ends or ctx is cancelled, and prints the summary.
func run(ctx context.Context, cfg config) error {
	w, err := startWorld(cfg)
	if err != nil {
		return err
	}
	defer w.close(context.Background())
	if w.movedTo != "" {
		fmt.Fprintln(cfg.out, "demo:", w.movedTo)
	}
	fmt.Fprintf(cfg.out, "Atrion demo: two backends, a gin front with Atrion and its unprotected twin, all on loopback;\n"+
		"phases: healthy, recommendations failing, overload, recovery (%v); dashboard at %s/\n", cfg.duration, w.dashURL)
	if w.token != "" {
		fmt.Fprintf(cfg.out, "dashboard control token: %s\n", w.token)
	}

	loadCtx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		w.load.run(loadCtx)
	}()

	spent := make([]time.Duration, len(script)) // time spent in each phase
	d := &display{cfg: cfg, w: w}
	start := time.Now()
	cur, since := -1, start
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		var now time.Time
		select {
		case <-ctx.Done():
			now = time.Now()
		case now = <-t.C:
		}
		elapsed := now.Sub(start)
		pass := int(elapsed / cfg.duration)
		done := ctx.Err() != nil || (pass >= 1 && !cfg.keep)
		i, _ := phaseAt(elapsed%cfg.duration, cfg.duration)
		if done || i != cur {
			if cur >= 0 {
				spent[cur] += now.Sub(since)
			}
			if done {
				if cur >= 0 { // else stopped before the first phase began: nothing to show
					d.live(elapsed, pass, cur, true)
				}
				break
			}
			cur, since = i, now
			p := script[i]
			w.faults.set(p.recoErr, p.recoHang)
			w.load.setRate(p.rate * cfg.scale)
			for _, s := range w.sides {
				s.current.Store(int32(i))
			}
		}
		if n%10 == 0 {
			d.live(elapsed, pass, cur, false)
		}
	}
	stopLoad()
	<-loadDone // in-flight requests finish within the client timeout
	d.summary(spent)
	if ctx.Err() == nil { // not stopped by Ctrl-C
		holdDashboard(ctx, cfg, w.dashURL)
	}
	return nil
}

// holdDashboard keeps the dashboard up after the summary, for a person at
// a terminal, until Enter or Ctrl-C; without cfg.hold it returns at once.
func holdDashboard(ctx context.Context, cfg config, url string) {
	if cfg.hold == nil {
		return
	}
	fmt.Fprintf(cfg.out, "\nThe dashboard stays up at %s/ — press Enter or Ctrl-C to quit.\n", url)
	waitLine(ctx, cfg.hold)
}

// waitLine returns when a line (or the end) is read from r, or ctx ends.
func waitLine(ctx context.Context, r io.Reader) {
	read := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(r).ReadString('\n')
		close(read)
	}()
	select {
	case <-read:
	case <-ctx.Done():
	}
}
