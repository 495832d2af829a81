package atrreplay_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrreplay "github.com/atrion-go/atrion/observability/replay"
)

// Record an engine's ticks, then ask what other settings would have done
// with the same traffic: here, a faster recovery after an outage.
func Example() {
	// Recording: an engine with a Recorder attached (in a service,
	// atrreplay.Create(path, …) and atrion.WithObserver(rec) in New).
	var file bytes.Buffer
	rec, err := atrreplay.NewRecorder(&file, atrreplay.Options{Label: "checkout"})
	if err != nil {
		panic(err)
	}
	clk := atrion.NewManualClock(time.Unix(1_700_000_000, 0))
	a, err := atrion.New(atrion.WithClock(clk), atrion.WithObserver(rec))
	if err != nil {
		panic(err)
	}
	for i := range 100 { // 20 requests a tick; the payment provider is down from 3 s to 5 s
		for range 20 {
			t, d := a.Admit("POST /pay", atrion.PriorityNormal)
			switch {
			case !d.Allowed:
			case i >= 30 && i < 50:
				t.DoneLatency(atrion.Failure, 900*time.Millisecond)
			default:
				t.DoneLatency(atrion.Success, 40*time.Millisecond)
			}
		}
		clk.Advance(a.Tick())
	}
	a.Snapshot("POST /pay") // closes the last tick
	a.Close(context.Background())
	rec.Close()

	// Replay: the recorded settings, and 5 recovery ticks instead of 20 (the
	// ramp admits everything after 4 healthy ticks either way: RECOVERING
	// only ends sooner).
	r, err := atrreplay.Read(&file, atrreplay.Limits{})
	if err != nil {
		panic(err)
	}
	same, err := atrreplay.RecordedSettings(r)
	if err != nil {
		panic(err)
	}
	fast, err := atrreplay.NewSettings(r, "fast-recovery.json", []byte(`{"physics": {"recoveryTicks": 5}}`))
	if err != nil {
		panic(err)
	}
	runs := []*atrreplay.Result{atrreplay.Recorded(r)}
	for _, s := range []atrreplay.Settings{same, fast} {
		res, err := atrreplay.Replay(r, s)
		if err != nil {
			panic(err)
		}
		runs = append(runs, res)
	}
	for _, res := range runs {
		var admitted, shed uint64
		for _, tk := range res.Ticks {
			admitted, shed = admitted+uint64(tk.Admitted), shed+uint64(tk.Shed)
		}
		fmt.Printf("%s: admitted %d, shed %d\n", res.Name, admitted, shed)
		for _, t := range res.Transitions {
			fmt.Printf("  %v %v → %v\n", t.At, t.From, t.To)
		}
	}
	// Output:
	// recorded: admitted 1622, shed 378
	//   1s BOOTSTRAP → OPERATIONAL
	//   3.5s OPERATIONAL → CIRCUIT_OPEN
	//   5.2s CIRCUIT_OPEN → RECOVERING
	//   7.2s RECOVERING → OPERATIONAL
	// recorded settings: admitted 1622, shed 378
	//   1s BOOTSTRAP → OPERATIONAL
	//   3.5s OPERATIONAL → CIRCUIT_OPEN
	//   5.2s CIRCUIT_OPEN → RECOVERING
	//   7.2s RECOVERING → OPERATIONAL
	// fast-recovery.json: admitted 1622, shed 378
	//   1s BOOTSTRAP → OPERATIONAL
	//   3.5s OPERATIONAL → CIRCUIT_OPEN
	//   5.2s CIRCUIT_OPEN → RECOVERING
	//   5.7s RECOVERING → OPERATIONAL
}
