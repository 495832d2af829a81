// Command loadtest runs the loopback load test: every scenario against
// every contestant, in interleaved rounds, on real processes (it starts
// itself again as the backend, each front and the generator). It prints
// the tables and writes them to a results folder (loadtest.md, with the
// raw figures in loadtest.json).
//
//	go run ./cmd/loadtest -out results [-rounds 2] [-seed 1] [-scenarios overload,hang] [-contestants none,atrion] [-smoke]
//	go run ./cmd/loadtest -out results -scenarios shares    # the scenarios of shared capacity alone
//	go run ./cmd/loadtest -report results/loadtest.json   # the tables of a saved run
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/atrion-go/atrion/benchmarks/loadtest"
)

func main() {
	if child, err := loadtest.RunChild(); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	out := flag.String("out", "results", "folder for loadtest.md and loadtest.json (created if missing)")
	rounds := flag.Int("rounds", 0, "rounds of every contestant (default: the configuration's, 2)")
	seed := flag.Uint64("seed", 1, "the schedule's seed: the same seed sends the same requests at the same times")
	only := flag.String("scenarios", "", "comma-separated scenario names, or \"shares\" for "+strings.Join(loadtest.ShareScenarioNames, ",")+" (default: all)")
	who := flag.String("contestants", "", "comma-separated contestant names (default: all)")
	smoke := flag.Bool("smoke", false, "the tests' shortened run: a few seconds, figures meaningless")
	saved := flag.String("report", "", "print the tables of a saved loadtest.json instead of running")
	flag.Parse()
	var err error
	if *saved != "" {
		err = rerender(*saved)
	} else {
		err = run(*out, *rounds, *seed, *only, *who, *smoke)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(out string, rounds int, seed uint64, only, who string, smoke bool) error {
	cfg := loadtest.DefaultConfig()
	if smoke {
		cfg = loadtest.SmokeConfig()
	}
	cfg.Seed = seed
	if rounds > 0 {
		cfg.Rounds = rounds
	}
	if only != "" {
		names := split(only)
		if i := slices.Index(names, "shares"); i >= 0 {
			names = slices.Concat(names[:i], loadtest.ShareScenarioNames, names[i+1:])
		}
		var keep []loadtest.Scenario
		for _, sc := range cfg.Scenarios {
			if slices.Contains(names, sc.Name) {
				keep = append(keep, sc)
			}
		}
		if len(keep) != len(names) {
			return fmt.Errorf("unknown or repeated scenario in %q", only)
		}
		cfg.Scenarios = keep
	}
	if who != "" {
		cfg.Contestants = split(who)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	var md strings.Builder
	if err := loadtest.WriteReport(&md, res); err != nil {
		return err
	}
	fmt.Print(md.String())
	if err := os.WriteFile(filepath.Join(out, "loadtest.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "loadtest.json"), raw, 0o644)
}

// rerender prints the report of a saved run.
func rerender(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res loadtest.Results
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	return loadtest.WriteReport(os.Stdout, &res)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
