package windtunnel

import (
	"math"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Outcome is how an admitted call ended, as its caller saw it.
type Outcome uint8

// Outcomes of an admitted call.
const (
	Success Outcome = iota // answered with success in time
	Failure                // answered with an error
	Timeout                // the caller's own deadline passed: it gave up waiting
	// Canceled: the caller went away before its deadline (a user closed
	// the tab, or a deadline-aware service cancelled a downstream call
	// because its own caller had gone).
	Canceled
)

var outcomeNames = [...]string{"success", "failure", "timeout", "canceled"}

// String returns success, failure, timeout or canceled.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "invalid"
}

// Guard is a contestant guarding every route of one run: however many
// instances it keeps inside (one per route, one per node), it is used
// from one goroutine.
type Guard interface {
	// Admit decides on one call on route. When ok, the caller calls
	// permit.Done exactly once with the call's outcome.
	Admit(route string, p atrion.Priority) (permit Permit, ok bool)
	// Probe reports route's state, for charts.
	Probe(route string) Probe
	// Transitions is the number of state changes so far over every route
	// (bootstrap excluded), or −1 for a guard without states.
	Transitions() int
	// Close releases the guard.
	Close()
}

// KeyBans is implemented by guards that ban client keys (Atrion's
// AdmitKey): Banned reports whether the client key that route's calls
// carry is banned now. The run asks at the end of every bin, for each
// route whose calls carry a client key, so that a scenario can check
// that a well-behaved key was never banned.
type KeyBans interface {
	Banned(route string) bool
}

// DeadlineAdmitter is implemented by guards that admit by the caller's
// deadline (Atrion's AdmitWithin): for a call whose caller gives up, the
// run calls AdmitWithin with the time it has left instead of Admit.
type DeadlineAdmitter interface {
	AdmitWithin(route string, p atrion.Priority, left time.Duration) (permit Permit, ok bool)
}

// Permit is an admitted call's handle.
type Permit interface {
	Done(Outcome)
}

// State is a guard's state on a route, in breaker terms.
type State int8

// States. A limiter without states reports StateNone.
const (
	StateNone     State = iota // no states (a limiter, or no protection)
	StateWarmup                // learning (Atrion's BOOTSTRAP)
	StateClosed                // admitting (OPERATIONAL, closed)
	StateHalfOpen              // probing (RECOVERING, half-open)
	StateOpen                  // rejecting (CIRCUIT_OPEN, open)
)

var stateNames = [...]string{"none", "warmup", "closed", "half-open", "open"}

// String returns none, warmup, closed, half-open or open.
func (s State) String() string {
	if int(s) < len(stateNames) && s >= 0 {
		return stateNames[s]
	}
	return "invalid"
}

// Probe is a guard's view of one route at one moment.
type Probe struct {
	State State
	// R and Break are Atrion's resistance and break point; NaN for peers.
	R, Break float64
}

// noProbe is the probe of a guard with nothing to report.
var noProbe = Probe{State: StateNone, R: math.NaN(), Break: math.NaN()}

// Contestant is one guard under test: how to build it for a run, and the
// settings it runs with, documented.
type Contestant struct {
	Name     string
	Settings string // its configuration, in a sentence
	// WallClock is true for guards that read the wall clock: they run only
	// inside a synctest bubble (see Run).
	WallClock bool
	// SyncsState is true for guards whose nodes share state in the
	// background when a scenario has SharedState; their background work
	// runs on timers, so such runs happen in a bubble too.
	SyncsState bool
	// New builds the guard for one run.
	New func(env Env) (Guard, error)
}

// Env is what a run offers a guard besides the calls themselves.
type Env struct {
	// Clock is the run's simulated clock.
	Clock *atrion.ManualClock
	// Nodes are the processes that guard routes (see Route.Node), in the
	// scenario's order of services.
	Nodes []string
	// Route describes a route of the scenario by its ID.
	Route func(id string) RouteInfo
	// CPU returns a node's CPU usage (0..1) over each 500 ms of the run so
	// far, oldest first: the share of its workers (or cores) doing their
	// own work, not waiting for downstream calls. It is what a sampler of
	// the host's CPU reads every 500 ms.
	CPU func(node string) []float64
	// SharedState is true when the nodes are replicas that share their
	// state (Scenario.SharedState).
	SharedState bool
}

// RouteInfo is what a guard knows about a route.
type RouteInfo struct {
	Node   string // the process guarding it
	Key    string // the route ID the guard sees
	Client string // the client key its calls carry ("" for none)
}

// lastCPU is a node's latest CPU sample (0 before the first).
func (e Env) lastCPU(node string) float64 {
	s := e.CPU(node)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// noGuard admits everything.
type noGuard struct{}

type noPermit struct{}

func (noPermit) Done(Outcome) {}

func (noGuard) Admit(string, atrion.Priority) (Permit, bool) { return noPermit{}, true }
func (noGuard) Probe(string) Probe                           { return noProbe }
func (noGuard) Transitions() int                             { return -1 }
func (noGuard) Close()                                       {}

// None is the unprotected baseline.
var None = Contestant{
	Name:     "none",
	Settings: "no protection: every call goes through",
	New:      func(Env) (Guard, error) { return noGuard{}, nil },
}
