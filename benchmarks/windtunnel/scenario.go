package windtunnel

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Scenario is one experiment: services, routes between them, traffic, an
// incident window, and Atrion's pass criteria.
type Scenario struct {
	Name     string // short ID, e.g. "chaos"
	Title    string
	About    string // what it shows, in a sentence or two
	Duration time.Duration
	Bin      time.Duration // series resolution (default 100 ms)
	// Incident is when the trouble (fault or overload) lasts; time to trip
	// and time to recover are measured from its ends.
	Incident Window
	// Watch is the route whose shed share and state are charted and timed.
	Watch    string
	Services []Service
	Routes   []Route
	Traffic  []Traffic
	// Kind classifies the scenario: Overload, Fault or Mixed.
	Kind Kind
	// SharedState makes the nodes replicas of one service that share
	// their state: Atrion's nodes through one provider, as a cluster would
	// through Redis. Guards that cannot share run one independent
	// instance per node.
	SharedState bool
	// Checks are the pass criteria: what a good guard achieves. They are
	// Atrion's, and every contestant is scored on them too.
	Checks []Check
}

// Kind is what a scenario puts its guard through.
type Kind string

// Kinds of scenario.
const (
	Overload Kind = "overload" // load exceeds capacity, no injected fault
	Fault    Kind = "fault"    // a dependency misbehaves at normal load
	Mixed    Kind = "mixed"    // both, or an attack
)

// Check is one pass criterion for Atrion on a scenario.
type Check struct {
	Name string // the criterion, in words
	// Needs names the contestants besides Atrion whose runs (same
	// scenario, same seed) Eval compares against; "none" is always there.
	Needs []string
	// Eval measures the criterion: what was seen, and whether it passes.
	Eval func(atr *Result, others map[string]*Result) (seen string, ok bool)
}

// Verdict is one evaluated check.
type Verdict struct {
	Check string
	Seen  string
	Pass  bool
}

// noLatch is the check every scenario has: a breaker that latches open
// fails.
var noLatch = Check{Name: "does not latch (still shedding ≥ half of the watched route 30 s or more after the incident)",
	Eval: func(a *Result, _ map[string]*Result) (string, bool) {
		if a.Score.Latched {
			return "latched", false
		}
		return "no latch", true
	}}

// Judge evaluates sc's checks, and that Atrion did not latch, on Atrion's
// result; others holds the other contestants' results by name (at least
// "none" and each check's Needs).
func (sc Scenario) Judge(atr *Result, others map[string]*Result) []Verdict {
	vs := make([]Verdict, 0, len(sc.Checks)+1)
	for _, c := range append([]Check{noLatch}, sc.Checks...) {
		v := Verdict{Check: c.Name}
		missing := ""
		for _, n := range append([]string{None.Name}, c.Needs...) {
			if others[n] == nil {
				missing = n
			}
		}
		if missing != "" {
			v.Seen = "no result for " + missing
		} else {
			v.Seen, v.Pass = c.Eval(atr, others)
		}
		vs = append(vs, v)
	}
	return vs
}

// Needs returns every contestant the scenario's checks compare against,
// "none" first.
func (sc Scenario) Needs() []string {
	out := []string{None.Name}
	for _, c := range sc.Checks {
		for _, n := range c.Needs {
			if !contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

func (sc Scenario) bin() time.Duration {
	if sc.Bin > 0 {
		return sc.Bin
	}
	return 100 * time.Millisecond
}

// validate checks that the scenario holds together.
func (sc Scenario) validate() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("windtunnel: scenario %q: %s", sc.Name, fmt.Sprintf(format, a...))
	}
	if sc.Name == "" {
		return errors.New("windtunnel: scenario without a name")
	}
	if sc.Duration <= 0 || sc.Duration > 24*time.Hour || sc.bin() > sc.Duration {
		return fail("duration %v must be positive, at most a day and at least one bin", sc.Duration)
	}
	svcs := map[string]bool{}
	for _, s := range sc.Services {
		if s.Name == "" || s.Health == nil || s.Capacity < 0 || math.IsNaN(s.Capacity) || s.Queue < 0 {
			return fail("service %q needs a name, a health function, capacity ≥ 0 and queue ≥ 0", s.Name)
		}
		svcs[s.Name] = true
	}
	routes := map[string]bool{}
	for _, r := range sc.Routes {
		if r.ID == "" || routes[r.ID] || !svcs[r.Service] || r.Timeout < 0 {
			return fail("route %q needs a unique ID, a known service and timeout ≥ 0", r.ID)
		}
		if r.Node != "" && !svcs[r.Node] {
			return fail("route %q is guarded on unknown node %q (a node is a service)", r.ID, r.Node)
		}
		routes[r.ID] = true
	}
	switch sc.Kind {
	case Overload, Fault, Mixed:
	default:
		return fail("kind %q must be overload, fault or mixed", sc.Kind)
	}
	for _, r := range sc.Routes {
		for _, c := range r.Calls {
			if !routes[c] {
				return fail("route %q calls unknown route %q", r.ID, c)
			}
		}
	}
	if err := sc.acyclic(); err != nil {
		return fail("%v", err)
	}
	if !routes[sc.Watch] {
		return fail("watched route %q is unknown", sc.Watch)
	}
	for _, t := range sc.Traffic {
		if len(t.Routes) == 0 || (t.Fallback != "" && !routes[t.Fallback]) {
			return fail("traffic %q needs entry routes and a known fallback", t.Class)
		}
		for _, id := range t.Routes {
			if !routes[id] {
				return fail("traffic %q enters unknown route %q", t.Class, id)
			}
		}
		if (t.Rate == nil) == (t.Clients <= 0) || (t.Rate == nil && t.Think <= 0) {
			return fail("traffic %q needs either a rate or clients with a think time", t.Class)
		}
		if t.Retry.Max < 0 || t.Retry.Backoff < 0 || t.Patience < 0 {
			return fail("traffic %q has a negative retry policy or patience", t.Class)
		}
	}
	return nil
}

// acyclic reports a route that calls itself, directly or not.
func (sc Scenario) acyclic() error {
	calls := map[string][]string{}
	for _, r := range sc.Routes {
		calls[r.ID] = r.Calls
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case open:
			return fmt.Errorf("route %q is part of a call cycle", id)
		case done:
			return nil
		}
		state[id] = open
		for _, c := range calls[id] {
			if err := visit(c); err != nil {
				return err
			}
		}
		state[id] = done
		return nil
	}
	for _, r := range sc.Routes {
		if err := visit(r.ID); err != nil {
			return err
		}
	}
	return nil
}

// ScenarioByName returns the scenario called name.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
