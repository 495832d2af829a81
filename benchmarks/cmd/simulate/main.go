// Command simulate runs the Wind Tunnel: every scenario against every
// contestant, on one seed or several. It prints the scorecards (each
// seed's summary, their mean, and the first seed's detail with Atrion's
// verdicts), and writes them (scorecard.md) with one SVG chart per
// scenario (first seed) to a results folder; -json writes each seed's
// scorecard for machines.
//
//	go run ./cmd/simulate -out results [-seeds 1,2,3] [-json results/scorecard-seed%d.json] [-scenarios chaos,domino] [-contestants atrion,gobreaker]
//
// -json takes a file name for one seed; with several seeds it must hold
// %d, replaced by each seed. The peers read the wall clock, so every run
// happens in a synctest bubble (see package windtunnel); the command runs
// them through windtunnel.Main, in parallel.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/atrion-go/atrion/benchmarks/windtunnel"
)

func main() {
	out := flag.String("out", "results", "folder for scorecard.md and the charts (created if missing)")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same numbers")
	seedList := flag.String("seeds", "", "comma-separated seeds (overrides -seed), e.g. 1,2,3")
	jsonOut := flag.String("json", "", "write each seed's scorecard as JSON to this file (%d: the seed)")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all)")
	who := flag.String("contestants", "", "comma-separated contestant names (default: all)")
	flag.Parse()
	seeds, err := parseSeeds(*seed, *seedList)
	if err == nil {
		err = checkJSONName(*jsonOut, len(seeds))
	}
	scs, cs, serr := selection(*only, *who)
	if err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
	windtunnel.Main("WindTunnel", func(t *testing.T) {
		boards := make([]*windtunnel.Board, len(seeds))
		for i, s := range seeds {
			boards[i] = windtunnel.NewBoard(s, scs, cs)
		}
		var mu sync.Mutex
		t.Run("runs", func(t *testing.T) {
			for _, b := range boards {
				for _, sc := range scs {
					for _, c := range cs {
						t.Run(fmt.Sprintf("%d/%s/%s", b.Seed, sc.Name, c.Name), func(t *testing.T) {
							t.Parallel()
							r := windtunnel.Run(t, sc, c, b.Seed)
							mu.Lock()
							b.Add(r)
							mu.Unlock()
						})
					}
				}
			}
		})
		if t.Failed() {
			return // the harness reports the failures
		}
		if err := write(boards, *out, *jsonOut); err != nil {
			t.Fatal(err)
		}
		// The harness would print PASS after the scorecard: leave now.
		os.Exit(0)
	})
}

// parseSeeds returns the seeds to run: the list when given, else seed.
func parseSeeds(seed uint64, list string) ([]uint64, error) {
	if list == "" {
		return []uint64{seed}, nil
	}
	var out []uint64
	for _, f := range strings.Split(list, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad seed %q in -seeds", f)
		}
		out = append(out, s)
	}
	return out, nil
}

// checkJSONName accepts a JSON file name for n seeds: with several, it
// must hold one %d.
func checkJSONName(name string, n int) error {
	if name == "" || n == 1 || strings.Count(name, "%d") == 1 {
		return nil
	}
	return errors.New("-json with several seeds needs a %d in the file name")
}

func jsonName(name string, seed uint64) string {
	if strings.Contains(name, "%d") {
		return fmt.Sprintf(name, seed)
	}
	return name
}

// selection picks scenarios and contestants by name; "none" is always run
// because the checks compare against it.
func selection(scenarios, contestants string) ([]windtunnel.Scenario, []windtunnel.Contestant, error) {
	scs := windtunnel.Scenarios()
	if scenarios != "" {
		scs = nil
		for _, n := range strings.Split(scenarios, ",") {
			sc, ok := windtunnel.ScenarioByName(strings.TrimSpace(n))
			if !ok {
				return nil, nil, fmt.Errorf("unknown scenario %q", n)
			}
			scs = append(scs, sc)
		}
	}
	all := windtunnel.Contestants()
	cs := all
	if contestants != "" {
		want := map[string]bool{windtunnel.None.Name: true}
		for _, n := range strings.Split(contestants, ",") {
			want[strings.TrimSpace(n)] = true
		}
		cs = nil
		for _, c := range all {
			if want[c.Name] {
				cs = append(cs, c)
				delete(want, c.Name)
			}
		}
		for n := range want {
			return nil, nil, fmt.Errorf("unknown contestant %q", n)
		}
	}
	return scs, cs, nil
}

// write prints the summaries and scorecards and writes them, with the
// first seed's charts and every seed's JSON, to dir.
func write(boards []*windtunnel.Board, dir, jsonOut string) error {
	first := boards[0]
	var md bytes.Buffer
	seeds := make([]string, len(boards))
	for i, b := range boards {
		seeds[i] = fmt.Sprint(b.Seed)
	}
	fmt.Fprintf(&md, "# Wind Tunnel scorecard (seeds %s)\n\n## Contestants\n\n", strings.Join(seeds, ", "))
	first.Settings(&md)
	for _, b := range boards {
		fmt.Fprintf(&md, "\n## Summary, seed %d\n\n", b.Seed)
		b.WriteSummary(&md)
	}
	if len(boards) > 1 {
		fmt.Fprintf(&md, "\n## Mean over the seeds\n\n")
		windtunnel.WriteMeans(&md, boards)
	}
	fmt.Fprintf(&md, "\n## Scenarios (seed %d)\n\n", first.Seed)
	first.WriteScorecards(&md)
	os.Stdout.Write(md.Bytes())
	if err := os.WriteFile(filepath.Join(dir, "scorecard.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	if jsonOut != "" {
		for _, b := range boards {
			if err := writeJSON(b, jsonName(jsonOut, b.Seed)); err != nil {
				return err
			}
		}
	}
	for _, sc := range first.Scenarios {
		var rs []*windtunnel.Result
		for _, c := range first.Contestants {
			if r := first.Result(sc.Name, c.Name); r != nil {
				rs = append(rs, r)
			}
		}
		f, err := os.Create(filepath.Join(dir, "windtunnel-"+sc.Name+".svg"))
		if err != nil {
			return err
		}
		err = windtunnel.WriteChart(f, sc, rs)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fmt.Printf("\nwrote %s and %d charts to %s\n", "scorecard.md", len(first.Scenarios), dir)
	return nil
}

func writeJSON(b *windtunnel.Board, name string) error {
	if d := filepath.Dir(name); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = b.WriteJSON(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
