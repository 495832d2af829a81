package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Results are a whole load test.
type Results struct {
	Config  Config        `json:"config"`
	Runs    []RunResult   `json:"runs"`
	Started time.Time     `json:"started"`
	Wall    time.Duration `json:"wall"`
	Machine string        `json:"machine"` // CPUs and load average at the start, for context
}

// Run runs every scenario of cfg for every contestant, cfg.Rounds times:
// the contestants take turns within each scenario of each round (A B C D,
// A B C D), so that drift in the machine hits them alike and the rounds
// show its noise. Each run gets a fresh backend, front and generator
// process. It writes one progress line per run to progress.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Results, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	tmp, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := &Results{Config: cfg, Started: time.Now(), Machine: machine()}
	for round := 1; round <= cfg.Rounds; round++ {
		for si := range cfg.Scenarios {
			sc := &cfg.Scenarios[si]
			for _, c := range cfg.Contestants {
				began := time.Now()
				out, err := runOnce(ctx, &cfg, sc, c, filepath.Join(tmp, "gen.json"))
				if err != nil {
					return nil, fmt.Errorf("loadtest: %s, %s, round %d: %w", sc.Name, c, round, err)
				}
				r := RunResult{Scenario: sc.Name, Contestant: c, Round: round,
					Phases: analyze(sc, cfg.Capacity(), out), Inflight: out.Inflight, Wall: time.Since(began),
					Checks: judgeRun(sc, &cfg, out.Records)}
				res.Runs = append(res.Runs, r)
				fmt.Fprintln(progress, progressLine(&r))
			}
		}
	}
	res.Wall = time.Since(res.Started)
	return res, nil
}

// runOnce runs scenario sc against contestant c on fresh processes and
// returns what the generator recorded.
func runOnce(ctx context.Context, cfg *Config, sc *Scenario, c, outFile string) (*genOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, sc.Duration()+cfg.RunTimeout)
	defer cancel()
	deadline := sc.Duration() + cfg.RunTimeout + 5*time.Second // each child's own bound
	spec := backendSpec{Workers: cfg.Workers, Queue: cfg.Queue, MaxHang: cfg.RunTimeout}
	for r := range Routes {
		spec.Service[r] = sc.serviceOf(r, cfg.Service)
	}
	be, err := startChild(ctx, roleBackend, childSpec{Role: roleBackend, Deadline: deadline, Backend: &spec})
	if err != nil {
		return nil, err
	}
	defer be.stop()
	fe, err := startChild(ctx, roleFront+" "+c, childSpec{Role: roleFront, Deadline: deadline, Front: &frontSpec{
		Contestant: c, Backend: be.addr, Timeout: cfg.FrontTimeout,
	}})
	if err != nil {
		return nil, err
	}
	defer fe.stop()
	gen, err := startChild(ctx, roleGenerator, childSpec{Role: roleGenerator, Deadline: deadline, Gen: &genSpec{
		Front: fe.addr, Backend: be.addr, Scenario: *sc, Capacity: cfg.Capacity(), Critical: cfg.Critical,
		Seed: cfg.Seed, Workers: cfg.GenWorkers, ClientTimeout: cfg.ClientTimeout, Out: outFile,
	}})
	if err != nil {
		return nil, err
	}
	if err := gen.wait(); err != nil {
		return nil, err
	}
	if err := fe.stop(); err != nil {
		return nil, err
	}
	if err := be.stop(); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		return nil, err
	}
	var out genOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("generator output: %w", err)
	}
	return &out, nil
}

func progressLine(r *RunResult) string {
	var all Counts
	for _, p := range r.Phases {
		all.Offered += p.All.Offered
		all.Served += p.All.Served
		all.Shed += p.All.Shed
		all.Errors += p.All.Errors
		all.Timeouts += p.All.Timeouts
		all.Dropped += p.All.Dropped
	}
	gen := "generator kept up"
	if !r.Sustained() {
		gen = "GENERATOR FELL BEHIND"
	}
	return fmt.Sprintf("round %d %-18s %-16s %5.1f s: offered %6d served %6d shed %6d lost %6d dropped %d; %s",
		r.Round, r.Scenario, r.Contestant, r.Wall.Seconds(), all.Offered, all.Served, all.Shed, all.Lost(), all.Dropped, gen)
}

// machine describes the CPUs and, on Linux, the load average.
func machine() string {
	s := fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			s += ", load average " + strings.Join(f[:3], " ")
		}
	}
	return s
}
