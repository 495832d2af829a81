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

// Load is what Overload saw.
type Load struct {
	Admitted, Shed int // over the whole run
	// Held are the calls still in flight when Overload returns (queued or
	// being served): the test releases them with Release.
	Held []atrion.Ticket
	// Service is each call's time in a worker: the route's no-load
	// latency.
	Service time.Duration
}

// Release ends the held calls successfully.
func (l *Load) Release() {
	for _, tk := range l.Held {
		tk.Done(atrion.Success)
	}
	l.Held = nil
}

// Overload serves route with a pool of workers on the manual clock, one
// millisecond at a time: first at half the pool's capacity for two
// seconds (the route learns its no-load latency, service), then at five
// times its capacity for five seconds, so that the in-flight limit sheds
// about four requests in five. Admitted calls wait in a FIFO queue for a
// worker; none gives up. It returns with the calls in flight still held.
func (r *Rig) Overload(tb testing.TB, route string) *Load {
	tb.Helper()
	const workers, service = 10, 20 * time.Millisecond // capacity 500/s
	l := &Load{Service: service}
	type call struct {
		tk  atrion.Ticket
		end time.Duration
	}
	var queue, busy []call
	now := time.Duration(0)
	step := func(arrivals int) {
		for range arrivals {
			tk, d := r.A.Admit(route, atrion.PriorityNormal)
			if !d.Allowed {
				l.Shed++
				continue
			}
			l.Admitted++
			queue = append(queue, call{tk: tk})
		}
		keep := busy[:0]
		for _, c := range busy {
			if now >= c.end {
				c.tk.Done(atrion.Success)
				continue
			}
			keep = append(keep, c)
		}
		busy = keep
		for len(busy) < workers && len(queue) > 0 {
			c := queue[0]
			queue = queue[1:]
			c.end = now + service
			busy = append(busy, c)
		}
		r.Clk.Advance(time.Millisecond)
		now += time.Millisecond
	}
	for ms := range 2000 { // 250/s
		step(min(1, ms%4/3))
	}
	for ms := range 5000 { // 2,500/s
		step(2 + ms%2)
	}
	for _, c := range append(busy, queue...) {
		l.Held = append(l.Held, c.tk)
	}
	if l.Shed == 0 || len(l.Held) == 0 {
		tb.Fatalf("overload shed %d and holds %d calls: want both", l.Shed, len(l.Held))
	}
	return l
}
