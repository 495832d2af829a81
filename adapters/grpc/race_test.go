//go:build race

package atrgrpc_test

// raceEnabled says whether the race detector is on.
const raceEnabled = true
