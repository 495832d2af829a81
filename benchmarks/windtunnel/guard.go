package windtunnel

import (
	"math"

	atrion "github.com/atrion-go/atrion/core"
)

// Outcome is how an admitted call ended, as its caller saw it.
type Outcome uint8

// Outcomes of an admitted call.
const (
	Success Outcome = iota // answered with success in time
	Failure                // answered with an error
	Timeout                // the caller gave up waiting
)

// String returns success, failure or timeout.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	default:
		return "timeout"
	}
}

// Guard is a contestant guarding every route of one run. It is used from
// one goroutine.
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
	// New builds the guard for one run.
	New func(env Env) (Guard, error)
}

// Env is what a run offers a guard besides the calls themselves.
type Env struct {
	// Clock is the run's simulated clock.
	Clock *atrion.ManualClock
	// Utilization returns the share (0..1) of busy workers of the service
	// behind route, now: the CPU reading of a server-side guard.
	Utilization func(route string) float64
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
