// Command stabilitymap sweeps Atrion's decay × scar factor × damping under
// a truly oscillating input (a dependency failing half its calls for 10 s,
// then healthy for 10 s, six times, then healthy for a minute), classifies
// each cell (stable, flapping, sluggish, latched), prints the map and
// writes it as an SVG heat map.
//
//	go run ./cmd/stabilitymap -out results [-seed 1]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atrion-go/atrion/benchmarks/windtunnel"
)

func main() {
	out := flag.String("out", "results", "folder for stability-map.svg (created if missing)")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same map")
	flag.Parse()
	if err := run(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "stabilitymap:", err)
		os.Exit(1)
	}
}

func run(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g := windtunnel.DefaultGrid
	cells, err := windtunnel.StabilityMap(g, seed)
	if err != nil {
		return err
	}
	windtunnel.WriteStabilityMap(os.Stdout, g, cells)
	path := filepath.Join(dir, "stability-map.svg")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = windtunnel.WriteStabilitySVG(f, g, cells)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}
