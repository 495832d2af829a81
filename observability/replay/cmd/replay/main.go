// Command replay answers "what would these settings have done?": it
// replays a recording (atrreplay.Recorder) through Atrion's engine on a
// manual clock, with the recorded settings and, given -config, with new
// ones, and prints per route and per stretch (a minute) what each run
// admitted and shed, and each run's transitions; it draws them as an SVG.
//
//	go run ./cmd/replay -in atrion.rec -config new.json
//
// -config is a configuration file, the JSON schema atrion.ParseConfig
// reads, applied in place of the recorded settings as a reload would: the
// whole configuration, what it does not name at its default.
// A truncated recording (its process died mid-write) is replayed up to
// its last complete block, with a warning.
//
// Output and run time are bounded by what the recording really covers:
// silences longer than atrreplay.MaxSilence (10 minutes) are shortened to
// it, a route's demand is replayed at most at atrreplay.MaxRate requests
// a second, and stretches without requests are counted, not listed; the
// command notes on stderr what it shortened and left out.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	atrreplay "github.com/atrion-go/atrion/observability/replay"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the recording to replay (required)")
	config := fs.String("config", "", "a configuration file (atrion.ParseConfig's JSON) to replay with besides the recorded settings")
	chart := fs.String("svg", "", "where to write the chart (default: the recording's path + .svg; \"-\": none)")
	every := fs.Duration("every", time.Minute, "the stretch the table sums over")
	route := fs.String("route", "", "replay only the routes whose names contain this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-in FILE is required, and nothing else")
	}
	if *every <= 0 {
		return fmt.Errorf("-every %v: want a positive duration", *every)
	}
	var l atrreplay.Limits
	if *route != "" {
		l.Route = func(name string) bool { return strings.Contains(name, *route) }
	}
	rec, err := atrreplay.ReadFile(*in, l)
	switch {
	case rec == nil:
		return err
	case errors.Is(err, atrreplay.ErrTruncated) || errors.Is(err, atrreplay.ErrCorrupt):
		fmt.Fprintf(stderr, "replay: warning: %v; replaying what precedes it\n", err)
	case err != nil:
		return err
	}
	if rec.Silences > 0 {
		fmt.Fprintf(stderr, "replay: note: %d silences longer than %v shortened to it (%v of recorded time left out)\n",
			rec.Silences, atrreplay.MaxSilence, rec.SilenceCut.Round(time.Second))
	}
	runs := []*atrreplay.Result{atrreplay.Recorded(rec)}
	replay := func(s atrreplay.Settings, err error) error {
		if err != nil {
			return err
		}
		res, err := atrreplay.Replay(rec, s)
		runs = append(runs, res)
		return err
	}
	if err := replay(atrreplay.RecordedSettings(rec)); err != nil {
		return err
	}
	if *config != "" {
		b, err := os.ReadFile(*config)
		if err != nil {
			return err
		}
		if err := replay(atrreplay.NewSettings(rec, filepath.Base(*config), b)); err != nil {
			return err
		}
	}
	for _, r := range runs[1:] {
		if r.Clamped > 0 {
			fmt.Fprintf(stderr, "replay: note: %s: %d requests and ends beyond %d a second per route not replayed\n", r.Name, r.Clamped, atrreplay.MaxRate)
		}
	}
	if err := atrreplay.WriteReport(stdout, rec, *every, runs...); err != nil {
		return err
	}
	if *chart == "-" {
		return nil
	}
	if *chart == "" {
		*chart = *in + ".svg"
	}
	f, err := os.Create(*chart)
	if err != nil {
		return err
	}
	if err := errors.Join(atrreplay.WriteChart(f, rec, runs...), f.Close()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nchart: %s\n", *chart)
	return nil
}
