// Command grpcload runs the gRPC load test (package grpcload): every
// scenario against every contestant, in interleaved rounds, each server
// a process of its own on 127.0.0.1. It prints a Markdown table and the
// pass criteria Atrion misses, writes both to a results folder
// (grpcload.md, with the raw figures in grpcload.json), and exits 1 on a
// miss.
//
//	go run ./cmd/grpcload -out results [-rounds 2] [-seed 1] [-measure 15s] [-before BIN] \
//	    [-scenarios overload-3x,overload-10x,mixed-deadlines-2x] [-contestants none,failsafe-limiter,atrion]
//
// -before names another build of this command, e.g. against main's
// atrgrpc, whose Atrion runs beside this one's as atrion-before (see
// README.md).
package main

import (
	"bytes"
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
	"time"

	"github.com/atrion-go/atrion/benchmarks/grpcload"
)

func main() {
	if child, err := grpcload.ServeChild(); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpcload server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	cfg := grpcload.DefaultConfig()
	out := flag.String("out", "results", "folder for grpcload.md and grpcload.json (created if missing)")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of every contestant")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "the schedule's seed: the same seed sends the same calls at the same times")
	flag.DurationVar(&cfg.Measure, "measure", cfg.Measure, "measured time per scenario and contestant")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up at half of capacity before each measurement")
	flag.StringVar(&cfg.Before, "before", "", "another build of this command whose Atrion runs as atrion-before")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all)")
	who := flag.String("contestants", "", "comma-separated contestant names (default: all)")
	flag.Parse()
	if err := pick(&cfg, *only, *who); err != nil {
		fmt.Fprintln(os.Stderr, "grpcload:", err)
		os.Exit(2)
	}
	if cfg.Rounds < 1 || cfg.Rounds > 10 || cfg.Measure < time.Second || cfg.Measure > 5*time.Minute || cfg.Warmup < 0 || cfg.Warmup > time.Minute {
		fmt.Fprintln(os.Stderr, "grpcload: rounds must be 1..10, measure 1s..5m, warmup 0..1m")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := grpcload.Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpcload:", err)
		os.Exit(1)
	}
	var md bytes.Buffer
	grpcload.Table(&md, results)
	misses := grpcload.Check(results, grpcload.Atrion)
	fmt.Fprintln(&md)
	if len(misses) == 0 {
		fmt.Fprintln(&md, "Atrion meets every pass criterion.")
	}
	for _, m := range misses {
		fmt.Fprintln(&md, "- MISSED:", m)
	}
	for _, f := range grpcload.Flagged(results) {
		fmt.Fprintln(&md, "- flagged:", f)
	}
	if cfg.Before != "" {
		fmt.Fprintln(&md, "\nThe before binary's Atrion against the same criteria:")
		for _, m := range grpcload.Check(results, grpcload.AtrionBefore) {
			fmt.Fprintln(&md, "- missed:", m)
		}
	}
	os.Stdout.Write(md.Bytes())
	if err := save(*out, md.Bytes(), results); err != nil {
		fmt.Fprintln(os.Stderr, "grpcload:", err)
		os.Exit(1)
	}
	if len(misses) > 0 {
		os.Exit(1)
	}
}

// pick narrows cfg to the named scenarios and contestants.
func pick(cfg *grpcload.Config, only, who string) error {
	if only != "" {
		var scs []grpcload.Scenario
		for _, name := range strings.Split(only, ",") {
			i := slices.IndexFunc(grpcload.Scenarios, func(s grpcload.Scenario) bool { return s.Name == name })
			if i < 0 {
				return fmt.Errorf("no scenario %q", name)
			}
			scs = append(scs, grpcload.Scenarios[i])
		}
		cfg.Scenarios = scs
	}
	if who != "" {
		cfg.Contestants = nil
		for _, name := range strings.Split(who, ",") {
			if !slices.Contains([]string{grpcload.None, grpcload.Failsafe, grpcload.Atrion}, name) {
				return fmt.Errorf("no contestant %q", name)
			}
			cfg.Contestants = append(cfg.Contestants, name)
		}
	}
	return nil
}

func save(dir string, md []byte, results []grpcload.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(results, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "grpcload.json"), raw, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "grpcload.md"), md, 0o644)
}
