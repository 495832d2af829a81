package loadtest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Routes are the front's routes; each calls the backend's route of the
// same name. Their shares of the traffic are Weights.
var Routes = [...]string{"catalog", "orders", "reports"}

// Weights are the routes' shares of the offered traffic, in the order of
// Routes.
var Weights = [len(Routes)]float64{0.5, 0.3, 0.2}

// Route indices, for scenarios that name the route a fault hits.
const (
	Catalog = iota
	Orders
	Reports
)

// Fault is what a backend route does wrong during a phase.
type Fault struct {
	ErrorRate float64       `json:"error_rate,omitempty"` // share of calls answered 500 after their service time
	Extra     time.Duration `json:"extra,omitempty"`      // added to the service time, holding a worker of the shared pool
	Hang      bool          `json:"hang,omitempty"`       // no answer until the caller leaves; holds no worker
}

// Phase is one stretch of a scenario: a load as a multiple of the
// backend's capacity spread over the routes by Weights, or Streams of
// their own rates; and the faults of the backend's routes.
type Phase struct {
	Name     string             `json:"name"`
	Duration time.Duration      `json:"duration"`
	Load     float64            `json:"load"`              // offered rate ÷ capacity, on the routes by Weights; 0 with Streams
	Streams  []Stream           `json:"streams,omitempty"` // instead of Load: each its own Poisson arrivals
	Faults   [len(Routes)]Fault `json:"faults"`            // by route index
	Role     PhaseRole          `json:"role"`
	Hog      bool               `json:"hog,omitempty"` // a CPU hog process spins on every core during the phase
}

// Stream is one source of traffic in a phase: Poisson arrivals at Rate
// requests/s on Route, carrying the client key Keys[Key-1] of the
// scenario (none when Key is 0). No request of a stream is critical.
type Stream struct {
	Route int     `json:"route"`
	Key   int     `json:"key,omitempty"`
	Rate  float64 `json:"rate"`
}

// Rate is the phase's offered rate in requests/s on a backend of
// capacity requests/s.
func (p *Phase) Rate(capacity float64) float64 {
	if len(p.Streams) == 0 {
		return p.Load * capacity
	}
	var r float64
	for _, s := range p.Streams {
		r += s.Rate
	}
	return r
}

// Retry is how the generator's clients retry a request that was shed,
// failed or timed out, as a retrying HTTP client would: up to Max more
// attempts, the n-th after a delay drawn uniformly from
// [0, min(Backoff·2ⁿ⁻¹, MaxBackoff)) (full jitter). Retry-After is not
// read: each contestant answers a rejection its own way, and the clients
// must treat them alike.
type Retry struct {
	Max        int           `json:"max"`
	Backoff    time.Duration `json:"backoff"`
	MaxBackoff time.Duration `json:"max_backoff"`
}

// on returns the faults of a phase where only route r misbehaves.
func on(r int, f Fault) (fs [len(Routes)]Fault) {
	fs[r] = f
	return fs
}

// PhaseRole says what a phase is for, so the report knows what to measure
// in it.
type PhaseRole uint8

// Phase roles.
const (
	Warmup    PhaseRole = iota // healthy traffic before the incident; not scored
	Incident                   // overload or a fault: goodput, shedding, time to first shed
	Aftermath                  // healthy again: time to recover
)

// Scenario is a timeline of phases. Focus lists the routes whose shedding
// the report follows (the faulty route; every route for overload);
// Healthy lists the routes that should be unharmed. Recovery is judged on
// every route.
type Scenario struct {
	Name    string  `json:"name"`
	About   string  `json:"about"`
	Phases  []Phase `json:"phases"`
	Focus   []int   `json:"focus"`
	Healthy []int   `json:"healthy,omitempty"`
	// Service is each route's service time in the backend; 0 takes the
	// Config's.
	Service [len(Routes)]time.Duration `json:"service,omitzero"`
	// Keys are the client keys streams carry in KeyHeader.
	Keys  []string `json:"keys,omitempty"`
	Retry *Retry   `json:"retry,omitempty"` // nil: clients do not retry
	// Checks are the scenario's pass criteria, judged on each run's
	// records (see judge).
	Checks []Check `json:"-"`
}

// maxKeys bounds a scenario's client keys.
const maxKeys = 16

// serviceOf is route r's service time in sc on a backend whose default
// is base.
func (s *Scenario) serviceOf(r int, base time.Duration) time.Duration {
	if s.Service[r] > 0 {
		return s.Service[r]
	}
	return base
}

// Duration is the scenario's length.
func (s *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p.Duration
	}
	return d
}

// check validates the scenario.
func (s *Scenario) check() error {
	if len(s.Phases) == 0 || len(s.Focus) == 0 {
		return fmt.Errorf("scenario %q: needs phases and focus routes", s.Name)
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		if p.Duration <= 0 || p.Load < 0 || p.Load > 50 || (p.Load > 0 && len(p.Streams) > 0) {
			return fmt.Errorf("scenario %q phase %q: duration must be > 0 and load in 0..50, and a phase has a load or streams, not both", s.Name, p.Name)
		}
		for _, st := range p.Streams {
			if st.Route < 0 || st.Route >= len(Routes) || st.Key < 0 || st.Key > len(s.Keys) || !(st.Rate >= 0 && st.Rate <= 10_000) {
				return fmt.Errorf("scenario %q phase %q: bad stream %+v (route in 0..%d, key in 0..%d, rate in 0..10000/s)",
					s.Name, p.Name, st, len(Routes)-1, len(s.Keys))
			}
		}
		for r, f := range p.Faults {
			if f.ErrorRate < 0 || f.ErrorRate > 1 || f.Extra < 0 {
				return fmt.Errorf("scenario %q phase %q: bad fault on route %s", s.Name, p.Name, Routes[r])
			}
		}
	}
	if len(s.Keys) > maxKeys {
		return fmt.Errorf("scenario %q: %d keys, at most %d", s.Name, len(s.Keys), maxKeys)
	}
	for _, k := range s.Keys {
		if k == "" || len(k) > 64 || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return fmt.Errorf("scenario %q: key %q must be 1..64 printable ASCII characters without spaces", s.Name, k)
		}
	}
	for r, d := range s.Service {
		if d < 0 || d > 10*time.Second {
			return fmt.Errorf("scenario %q: service time %v of %s: must be in 0..10s", s.Name, d, Routes[r])
		}
	}
	if rt := s.Retry; rt != nil && (rt.Max < 0 || rt.Max > 10 || rt.Backoff <= 0 || rt.MaxBackoff < rt.Backoff || rt.MaxBackoff > time.Minute) {
		return fmt.Errorf("scenario %q: bad retry %+v (max in 0..10, 0 < backoff ≤ max backoff ≤ 1m)", s.Name, *rt)
	}
	for _, r := range append(append([]int(nil), s.Focus...), s.Healthy...) {
		if r < 0 || r >= len(Routes) {
			return fmt.Errorf("scenario %q: route %d out of range", s.Name, r)
		}
	}
	return nil
}

// Timeline sets the length of each kind of phase in the standard
// scenarios.
type Timeline struct {
	Warmup   time.Duration // healthy start (2 s): covers every guard's bootstrap
	Overload time.Duration // each of the 3× and 10× phases (4 s)
	Failing  time.Duration // the failing dependency (10 s)
	Fault    time.Duration // the hang and the slow route (4 s)
	After    time.Duration // healthy end (3 s)
	AfterErr time.Duration // healthy end after the failing dependency (5 s): longer than a breaker's 5 s open state
}

// HealthyLoad is the load of healthy phases, as a share of capacity.
const HealthyLoad = 0.5

// Scenarios returns the standard scenarios on timeline t and the slow
// route's extra service time.
func Scenarios(t Timeline, slowExtra time.Duration) []Scenario {
	warm := Phase{Name: "healthy", Duration: t.Warmup, Load: HealthyLoad, Role: Warmup}
	after := func(d time.Duration) Phase {
		return Phase{Name: "after", Duration: d, Load: HealthyLoad, Role: Aftermath}
	}
	all := []int{Catalog, Orders, Reports}
	// fault is a warm-up, then route r misbehaving at healthy load for d,
	// then healthy again for rest
	fault := func(name, about, phase string, r int, f Fault, d, rest time.Duration) Scenario {
		others := slices.DeleteFunc(slices.Clone(all), func(o int) bool { return o == r })
		return Scenario{Name: name, About: about, Phases: []Phase{warm,
			{Name: phase, Duration: d, Load: HealthyLoad, Role: Incident, Faults: on(r, f)},
			after(rest)},
			Focus: []int{r}, Healthy: others}
	}
	return []Scenario{
		{
			Name:  "overload",
			About: "healthy → 3× → 10× capacity → healthy",
			Phases: []Phase{warm,
				{Name: "3×", Duration: t.Overload, Load: 3, Role: Incident},
				{Name: "10×", Duration: t.Overload, Load: 10, Role: Incident},
				after(t.After)},
			Focus: all,
		},
		fault("failing", "orders' dependency answers 500 to every call",
			"orders failing", Orders, Fault{ErrorRate: 1}, t.Failing, t.AfterErr),
		fault("hang", "reports' dependency hangs past the front's timeout",
			"reports hangs", Reports, Fault{Hang: true}, t.Fault, t.After),
		fault("starve", "reports slows down and holds the shared pool's workers",
			"reports slow", Reports, Fault{Extra: slowExtra}, t.Fault, t.After),
	}
}

// Contestant names, in the order of a round.
const (
	None      = "none"
	Atrion    = "atrion"
	Failsafe  = "failsafe-limiter"
	Gobreaker = "gobreaker"
)

// Contestants are every contestant's name, in the order of a round.
var Contestants = []string{None, Atrion, Failsafe, Gobreaker}

// Config is one load test: the backend's size, the timeouts, the
// generator, and what to run.
type Config struct {
	Workers       int           // backend worker pool shared by every route
	Service       time.Duration // backend service time per call (time.Sleep)
	Queue         int           // bound of the backend's wait queue; beyond it the backend answers 503 at once
	FrontTimeout  time.Duration // the front's http.Client timeout for a backend call
	ClientTimeout time.Duration // the generator's client timeout
	GenWorkers    int           // the generator's bound on requests in flight
	Critical      float64       // share of requests the generator marks X-Priority: critical
	Seed          uint64        // the schedule's seed: the same seed, the same requests at the same times
	Rounds        int           // how many times each contestant runs each scenario, interleaved
	Scenarios     []Scenario
	Contestants   []string
	// RunTimeout bounds one run (one contestant in one scenario) beyond
	// its scenario's length; past it the run's processes are killed.
	RunTimeout time.Duration
}

// Capacity is the backend's throughput in requests per second: every
// worker busy with calls of the base service time.
func (c *Config) Capacity() float64 { return float64(c.Workers) / c.Service.Seconds() }

// DefaultTimeline is make loadtest's timeline for the control law's
// scenarios: about 48 s per contestant and round.
var DefaultTimeline = Timeline{
	Warmup: 2 * time.Second, Overload: 4 * time.Second, Failing: 10 * time.Second,
	Fault: 4 * time.Second, After: 3 * time.Second, AfterErr: 5 * time.Second,
}

// DefaultConfig is make loadtest: a backend of 8 workers × 40 ms = 200
// requests/s, whose queue of 320 holds 1.6 s of work, longer than the
// front's 1 s timeout (as a database/sql pool, which waits without bound,
// would); a generator of up to 3,000 requests in flight with a 2 s
// timeout, so that 10× overload (2,000 requests/s) fits; two rounds.
func DefaultConfig() Config {
	return Config{
		Workers: 8, Service: 40 * time.Millisecond, Queue: 320,
		FrontTimeout: time.Second, ClientTimeout: 2 * time.Second,
		GenWorkers: 3000, Critical: 0.05, Seed: 1, Rounds: 2,
		Scenarios:   append(Scenarios(DefaultTimeline, 560*time.Millisecond), ShareScenarios(DefaultShareTimeline)...),
		Contestants: Contestants,
		RunTimeout:  30 * time.Second,
	}
}

// SmokeConfig is a shortened run for tests, a few seconds in all: every
// scenario with phases of 100–200 ms, a backend of 200 requests/s, one
// round. Its figures mean nothing.
func SmokeConfig() Config {
	c := DefaultConfig()
	c.Workers, c.Service, c.Queue = 4, 20*time.Millisecond, 40
	c.FrontTimeout, c.ClientTimeout = 200*time.Millisecond, 400*time.Millisecond
	c.GenWorkers, c.Rounds = 400, 1
	short, fault := 100*time.Millisecond, 200*time.Millisecond
	c.Scenarios = append(Scenarios(Timeline{Warmup: short, Overload: short, Failing: fault, Fault: fault, After: short, AfterErr: short},
		100*time.Millisecond), ShareScenarios(ShareTimeline{Settle: 50 * time.Millisecond, Baseline: fault, Warmup: short,
		Incident: fault, Gap: short, Grace: 50 * time.Millisecond})...)
	c.RunTimeout = 15 * time.Second
	return c
}

// check validates c and resolves its scenarios.
func (c *Config) check() error {
	switch {
	case c.Workers < 1 || c.Workers > 1000:
		return fmt.Errorf("Workers %d: must be in 1..1000", c.Workers)
	case c.Service < time.Millisecond || c.Service > 10*time.Second:
		return fmt.Errorf("Service %v: must be in 1ms..10s", c.Service)
	case c.Queue < 0 || c.Queue > 100_000:
		return fmt.Errorf("Queue %d: must be in 0..100000", c.Queue)
	case c.FrontTimeout <= 0 || c.ClientTimeout <= c.FrontTimeout:
		return fmt.Errorf("timeouts: need 0 < FrontTimeout (%v) < ClientTimeout (%v)", c.FrontTimeout, c.ClientTimeout)
	case c.GenWorkers < 1 || c.GenWorkers > 10_000:
		return fmt.Errorf("GenWorkers %d: must be in 1..10000", c.GenWorkers)
	case c.Critical < 0 || c.Critical > 1:
		return fmt.Errorf("Critical %v: must be in 0..1", c.Critical)
	case c.Rounds < 1 || c.Rounds > 20:
		return fmt.Errorf("Rounds %d: must be in 1..20", c.Rounds)
	case len(c.Scenarios) == 0 || len(c.Contestants) == 0:
		return fmt.Errorf("nothing to run")
	case c.RunTimeout <= 0:
		return fmt.Errorf("RunTimeout %v: must be > 0", c.RunTimeout)
	}
	for _, n := range c.Contestants {
		if _, ok := guards[n]; !ok {
			return fmt.Errorf("unknown contestant %q", n)
		}
	}
	for i := range c.Scenarios {
		if err := c.Scenarios[i].check(); err != nil {
			return err
		}
	}
	return nil
}
