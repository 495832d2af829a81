package windtunnel

import (
	"testing"
	"testing/synctest"
)

// Run runs scenario sc against contestant c with the given seed, inside a
// synctest bubble when c reads the wall clock (or syncs shared state in
// the background), so that its time is the simulated time. It fails t on
// error.
func Run(t *testing.T, sc Scenario, c Contestant, seed uint64) *Result {
	t.Helper()
	var res *Result
	var err error
	run := func(*testing.T) { res, err = Simulate(sc, c, seed) }
	if c.needsBubble(sc) {
		synctest.Test(t, run)
	} else {
		run(t)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Main runs f as the only test of a testing harness and exits with its
// status. Commands use it because a synctest bubble (which the peers need,
// see Run) can only be made from a *testing.T; testing.Main is the
// standard library's entry point for running tests outside go test. Parse
// the command's flags before calling it.
func Main(name string, f func(t *testing.T)) {
	testing.Main(func(string, string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: name, F: f}}, nil, nil)
}
