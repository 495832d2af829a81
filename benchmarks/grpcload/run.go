package grpcload

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// The contestants. AtrionBefore is Atrion served by the before binary:
// the same harness built with another atrgrpc (main's, to measure a
// change beside it).
const (
	None         = "none"
	Failsafe     = "failsafe-limiter"
	Atrion       = "atrion"
	AtrionBefore = "atrion-before"
)

// Scenario is one phase of load after a warm-up.
type Scenario struct {
	Name string
	// Load is the rate in multiples of Capacity.
	Load float64
	// ShortShare of the calls have deadline Short, the rest Long.
	ShortShare  float64
	Short, Long time.Duration
}

// Scenarios are the load test's: overload at 3× and 10× (every call with
// a 1 s deadline, as the HTTP load test's front waits), and mixed
// deadlines at 2×: half the calls with 60 ms, less than a worker's 40 ms
// plus any wait for one, half with 500 ms.
var Scenarios = []Scenario{
	{Name: "overload-3x", Load: 3, Long: time.Second},
	{Name: "overload-10x", Load: 10, Long: time.Second},
	{Name: "mixed-deadlines-2x", Load: 2, ShortShare: 0.5, Short: 60 * time.Millisecond, Long: 500 * time.Millisecond},
}

// Config is a run's settings.
type Config struct {
	Rounds int
	Seed   uint64
	// Warmup runs at half of capacity with 1 s deadlines before each
	// scenario, unmeasured, so that the guards learn the route at rest.
	Warmup, Measure time.Duration
	Scenarios       []Scenario
	Contestants     []string
	// Before is the binary that serves AtrionBefore; "" leaves it out.
	Before string
}

// DefaultConfig is make loadtest-grpc's: 2 rounds of 3 s warm-up and
// 15 s measured per scenario and contestant.
func DefaultConfig() Config {
	return Config{Rounds: 2, Seed: 1, Warmup: 3 * time.Second, Measure: 15 * time.Second,
		Scenarios: Scenarios, Contestants: []string{None, Failsafe, Atrion}}
}

// Result is one contestant's run of one scenario in one round.
type Result struct {
	Round      int
	Scenario   string
	Contestant string
	Seconds    float64 // measured
	Client     ClientStats
	Server     ServerStats
}

// Goodput is the calls per second served before their deadline.
func (r Result) Goodput() float64 { return float64(r.Client.Total().Served) / r.Seconds }

// Run runs every scenario against every contestant, in interleaved
// rounds, and returns the results in the order run; progress goes to
// log.
func Run(ctx context.Context, cfg Config, log io.Writer) ([]Result, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	who := cfg.Contestants
	if cfg.Before != "" {
		who = append(who[:len(who):len(who)], AtrionBefore)
	}
	var out []Result
	for round := 1; round <= cfg.Rounds; round++ {
		for _, sc := range cfg.Scenarios {
			for _, c := range who {
				bin, as := self, c
				if c == AtrionBefore {
					bin, as = cfg.Before, Atrion
				}
				r, err := runOne(ctx, cfg, sc, bin, as)
				if err != nil {
					return out, fmt.Errorf("round %d, %s, %s: %w", round, sc.Name, c, err)
				}
				r.Round, r.Contestant = round, c
				out = append(out, r)
				t := r.Client.Total()
				fmt.Fprintf(log, "round %d %-20s %-17s goodput %6.1f/s shed %5d timed out %5d wasted %4d\n",
					round, sc.Name, c, r.Goodput(), t.Shed, t.TimedOut, r.Server.Wasted)
			}
		}
	}
	return out, nil
}

// runOne starts a server child of bin guarded as contestant, warms it
// up, measures sc and stops it.
func runOne(ctx context.Context, cfg Config, sc Scenario, bin, contestant string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Measure+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), childEnv+"="+contestant)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	defer func() { _ = cmd.Wait() }() // after the stats are read, or the context killed it
	lines := json.NewDecoder(bufio.NewReader(stdout))
	var hello struct{ Addr string }
	if err := lines.Decode(&hello); err != nil || hello.Addr == "" {
		stdin.Close()
		return Result{}, fmt.Errorf("server child did not start: %v", err)
	}

	warm := schedule(sc.Name+"/warmup", cfg.Seed, Capacity/2, cfg.Warmup, 0, 0, time.Second)
	if _, err := drive(ctx, hello.Addr, warm); err != nil {
		stdin.Close()
		return Result{}, err
	}
	if _, err := io.WriteString(stdin, "mark\n"); err != nil {
		return Result{}, err
	}
	calls := schedule(sc.Name, cfg.Seed, sc.Load*Capacity, cfg.Measure, sc.ShortShare, sc.Short, sc.Long)
	cs, err := drive(ctx, hello.Addr, calls)
	stdin.Close()
	if err != nil {
		return Result{}, err
	}
	var ss ServerStats
	if err := lines.Decode(&ss); err != nil {
		return Result{}, fmt.Errorf("reading the server's stats: %w", err)
	}
	if ss.Route == nil && contestant == Atrion {
		return Result{}, errors.New("the Atrion server sent no route figures")
	}
	return Result{Scenario: sc.Name, Seconds: cfg.Measure.Seconds(), Client: cs, Server: ss}, nil
}
