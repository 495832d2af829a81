package atrion_test

import (
	"math"
	"testing"
	"time"

	"github.com/atrion-go/atrion/core/atriontest"
)

// TestDemandReadsTheOverload: a worker pool offered five times its
// capacity reads a demand near five while its limit sheds the excess; 1
// while it serves all it is asked (or nothing), before and (a few seconds)
// after.
func TestDemandReadsTheOverload(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "GET /feed", workers: 20, service: 20 * time.Millisecond, timeout: 500 * time.Millisecond}
	demand := func() float64 {
		s, ok := a.Snapshot(p.route)
		if !ok {
			t.Fatal("route not tracked")
		}
		return s.Demand
	}
	p.run(time.Second, 1, normal)
	p.run(2*time.Second, 0, normal)
	if d := demand(); d != 1 {
		t.Fatalf("idle route: demand %v, want 1", d)
	}
	for range 2000 { // half the capacity
		p.step(0, normal)
		if p.now%2 == 0 {
			p.step(1, normal)
		}
	}
	if d := demand(); d != 1 {
		t.Fatalf("route at half its capacity: demand %v, want 1 (shed %d)", d, p.shed)
	}
	p.served, p.shed = 0, 0
	p.run(10*time.Second, 5, normal) // 5,000/s against a capacity of 1,000/s
	offered := float64(p.served+p.shed+p.gaveUp) / float64(p.served+p.gaveUp)
	d := demand()
	t.Logf("5× overload: demand %.2f; offered ÷ admitted over the whole run %.2f", d, offered)
	if math.Abs(d-5) > 1 || math.Abs(d-offered) > 1 {
		t.Fatalf("5× overload: demand %.2f, want about 5 (admitted %d, shed %d over the run: %.2f)", d, p.served+p.gaveUp, p.shed, offered)
	}
	p.run(2*time.Second, 0, normal) // quiet again: the window forgets
	if d := demand(); d != 1 {
		t.Fatalf("2 s after the overload: demand %v, want 1", d)
	}
}
