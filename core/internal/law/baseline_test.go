package law

import "testing"

func TestLatencyFloor(t *testing.T) {
	var f latencyFloor
	f.learn(20, 0.1)
	if f.Ms != 20 || f.baseline(0) != 40 {
		t.Fatalf("first tick: floor %v baseline %v", f.Ms, f.baseline(0))
	}
	f.learn(10, 0.1) // a faster tick pulls it down a quarter of the way
	if f.Ms != 17.5 {
		t.Fatalf("floor %v, want 17.5", f.Ms)
	}
	for range 10000 { // a long slow leak lifts it only to the ceiling
		f.learn(1000, 0.1)
	}
	if f.Ms > floorCeiling*17.5+1e-9 {
		t.Fatalf("floor %v leaked past %v × 17.5", f.Ms, floorCeiling)
	}
	if f.baseline(250) != 250 {
		t.Fatal("an SLO latency wins over the learned one")
	}
	var g latencyFloor
	for _, v := range []float64{-1, 0, 1e300} {
		g.learn(v, 0.1)
	}
	if g.Ms != maxBaselineMs {
		t.Fatalf("bad latencies: floor %v, want only the absurd one clamped to %v", g.Ms, float64(maxBaselineMs))
	}
}
