// Package obstest drives an engine through a trip and a recovery for the
// tests of atrprom and atrotel, and tallies what it saw, so that both
// modules check their series against the same independent count.
package obstest

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// Tick is the engine's tick in a Rig.
const Tick = 100 * time.Millisecond

// Rig is an engine on a manual clock whose routes skip bootstrap and whose
// AutoTuner is off, so the static break point (100) decides.
type Rig struct {
	A   *atrion.Atrion
	Clk *atrion.ManualClock
}

// New returns a Rig with opts added; the engine is closed when tb ends.
func New(tb testing.TB, opts ...atrion.Option) *Rig {
	tb.Helper()
	a, clk := atriontest.New(tb, atriontest.Static(opts...)...)
	return &Rig{A: a, Clk: clk}
}

// Flush waits until the observers have seen every event so far.
func (r *Rig) Flush(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.A.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// Tally counts what a test saw: decisions by their label (admitted or the
// rejection reason) and outcomes by class name.
type Tally struct {
	Decisions map[string]int
	Outcomes  map[string]int
}

// NewTally returns an empty Tally.
func NewTally() *Tally { return &Tally{Decisions: map[string]int{}, Outcomes: map[string]int{}} }

// Send makes one request on route that ends in class c when admitted, and
// counts it in tl.
func (r *Rig) Send(route string, c atrion.Class, tl *Tally) atrion.Decision {
	tk, d := r.A.Admit(route, atrion.PriorityNormal)
	if !d.Allowed {
		tl.Decisions[d.Reason.String()]++
		return d
	}
	tl.Decisions["admitted"]++
	tl.Outcomes[c.String()]++
	tk.Done(c)
	return d
}

// Trip fails route, five requests a tick, until its circuit opens.
func (r *Rig) Trip(tb testing.TB, route string, tl *Tally) {
	tb.Helper()
	atriontest.Until(tb, r.A, r.Clk, route, atrion.ModeCircuitOpen, 200, r.sender(route, atrion.Failure, tl))
}

// TripAndHeal trips route, sends one request that the open circuit
// rejects, then sends healthy traffic, five requests a tick, until the
// route is OPERATIONAL again: it goes OPERATIONAL → CIRCUIT_OPEN →
// RECOVERING → OPERATIONAL.
func (r *Rig) TripAndHeal(tb testing.TB, route string, tl *Tally) {
	tb.Helper()
	r.Trip(tb, route, tl)
	r.Send(route, atrion.Success, tl)
	atriontest.Until(tb, r.A, r.Clk, route, atrion.ModeOperational, 600, r.sender(route, atrion.Success, tl))
}

// sender returns a tick's traffic for Until: five requests on route that
// end in c, counted in tl.
func (r *Rig) sender(route string, c atrion.Class, tl *Tally) func() {
	return func() {
		for range 5 {
			r.Send(route, c, tl)
		}
	}
}

// HotPathAllocs returns the allocations of one Admit + Done(Success), the
// request path that publishing metrics must leave alone.
func (r *Rig) HotPathAllocs() float64 {
	return testing.AllocsPerRun(1000, func() {
		tk, d := r.A.Admit("GET /hot", atrion.PriorityNormal)
		if d.Allowed {
			tk.Done(atrion.Success)
		}
	})
}

// Exercise runs route through TripAndHeal and one ignored request, and
// returns the tally, which has admissions, circuit_open rejections,
// successes, failures and an ignored outcome.
func (r *Rig) Exercise(tb testing.TB, route string) *Tally {
	tb.Helper()
	tl := NewTally()
	r.TripAndHeal(tb, route, tl)
	r.Send(route, atrion.Ignored, tl)
	if tl.Decisions["circuit_open"] == 0 || tl.Outcomes["failure"] == 0 {
		tb.Fatalf("rejection and failure not exercised: %v %v", tl.Decisions, tl.Outcomes)
	}
	return tl
}
