package windtunnel_test

import (
	"fmt"

	"github.com/atrion-go/atrion/benchmarks/windtunnel"
)

// Atrion runs on its manual clock, so it needs no bubble: simulate a
// dependency that is down for 20 s and read the scorecard.
func ExampleSimulate() {
	sc, _ := windtunnel.ScenarioByName("cb-recovery")
	r, err := windtunnel.Simulate(sc, windtunnel.Atrion, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tripped:", r.Score.TimeToTrip >= 0, "recovered:", r.Score.TimeToRecover >= 0, "latched:", r.Score.Latched)
	// Output: tripped: true recovered: true latched: false
}

// Peers read the wall clock: outside a synctest bubble (windtunnel.Run,
// windtunnel.Main) Simulate refuses them.
func ExampleSimulate_peer() {
	sc, _ := windtunnel.ScenarioByName("cb-recovery")
	_, err := windtunnel.Simulate(sc, windtunnel.Gobreaker, 1)
	fmt.Println(err != nil)
	// Output: true
}
