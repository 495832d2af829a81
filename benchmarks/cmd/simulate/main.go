// Command simulate runs the Wind Tunnel: every scenario against every
// contestant on one seed. It prints the scorecards and Atrion's verdicts,
// and writes them (scorecard.md) with one SVG chart per scenario to a
// results folder.
//
//	go run ./cmd/simulate -out results [-seed 1] [-scenarios chaos,domino] [-contestants atrion,gobreaker]
//
// The peers read the wall clock, so every run happens in a synctest bubble
// (see package windtunnel); the command runs them through
// windtunnel.Main, in parallel.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atrion-go/atrion/benchmarks/windtunnel"
)

func main() {
	out := flag.String("out", "results", "folder for scorecard.md and the charts (created if missing)")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same numbers")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all)")
	who := flag.String("contestants", "", "comma-separated contestant names (default: all)")
	flag.Parse()
	scs, cs, err := selection(*only, *who)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
	windtunnel.Main("WindTunnel", func(t *testing.T) {
		b := windtunnel.NewBoard(*seed, scs, cs)
		var mu sync.Mutex
		t.Run("runs", func(t *testing.T) {
			for _, sc := range scs {
				for _, c := range cs {
					t.Run(sc.Name+"/"+c.Name, func(t *testing.T) {
						t.Parallel()
						r := windtunnel.Run(t, sc, c, *seed)
						mu.Lock()
						b.Add(r)
						mu.Unlock()
					})
				}
			}
		})
		if err := write(b, *out); err != nil {
			t.Fatal(err)
		}
	})
}

// selection picks scenarios and contestants by name; "none" is always run
// because Atrion's checks compare against it.
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

// write prints the summary and scorecards and writes them, with the
// charts, to dir.
func write(b *windtunnel.Board, dir string) error {
	var md bytes.Buffer
	fmt.Fprintf(&md, "# Wind Tunnel scorecard (seed %d)\n\n## Contestants\n\n", b.Seed)
	b.Settings(&md)
	fmt.Fprintf(&md, "\n## Summary\n\n")
	b.WriteSummary(&md)
	fmt.Fprintf(&md, "\n## Scenarios\n\n")
	b.WriteScorecards(&md)
	os.Stdout.Write(md.Bytes())
	if err := os.WriteFile(filepath.Join(dir, "scorecard.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	for _, sc := range b.Scenarios {
		var rs []*windtunnel.Result
		for _, c := range b.Contestants {
			if r := b.Result(sc.Name, c.Name); r != nil {
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
	fmt.Printf("\nwrote %s and %d charts to %s\n", "scorecard.md", len(b.Scenarios), dir)
	return nil
}
