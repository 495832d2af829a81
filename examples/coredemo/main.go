// Command coredemo shows one route tripping under failures and healing with
// time, on the core alone. It runs for about eight seconds and exits.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/sink"
)

func main() {
	a, err := atrion.New(
		atrion.WithTick(50*time.Millisecond),
		atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.8}), // heal fast enough to watch
		atrion.WithObserver(sink.Console(os.Stdout, false)),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer a.Close(context.Background())

	const route = "GET /payments"
	start := time.Now()
	failing := func(t time.Duration) bool { return t > 2*time.Second && t < 4*time.Second }
	var admitted, shed, failed int
	last := time.Duration(0)
	fmt.Println("phase: healthy 0-2s, dependency failing 2-4s, healthy again 4-8s")
	for elapsed := time.Duration(0); elapsed < 8*time.Second; elapsed = time.Since(start) {
		t, d := a.Admit(route, atrion.PriorityNormal)
		if !d.Allowed {
			shed++
		} else {
			admitted++
			time.Sleep(2 * time.Millisecond) // the "work"
			if failing(elapsed) {
				failed++
				t.Done(atrion.Failure)
			} else {
				t.Done(atrion.Success)
			}
		}
		if !d.Allowed {
			time.Sleep(2 * time.Millisecond)
		}
		if elapsed-last >= 500*time.Millisecond {
			last = elapsed
			s, _ := a.Snapshot(route)
			fmt.Printf("t=%4.1fs %-12s R=%7.2f scar=%6.2f break=%6.2f admitted=%4d shed=%4d failed=%4d\n",
				elapsed.Seconds(), s.Mode, s.Resistance, s.Scar, s.BreakPoint, admitted, shed, failed)
			admitted, shed, failed = 0, 0, 0
		}
	}
	s, _ := a.Snapshot(route)
	fmt.Printf("final: %s R=%.2f after %d transitions\n", s.Mode, s.Resistance, s.Transitions)
	if s.Transitions < 2 {
		os.Exit(1) // the demo must show a trip and a recovery
	}
}
