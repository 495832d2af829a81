package atrion_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func TestReasonDeadlineNames(t *testing.T) {
	if atrion.ReasonDeadline.String() != "deadline" {
		t.Fatalf("String %q", atrion.ReasonDeadline.String())
	}
	b, err := json.Marshal(atrion.ReasonDeadline)
	if err != nil || string(b) != `"deadline"` {
		t.Fatalf("JSON %s, %v", b, err)
	}
	var r atrion.Reason
	if err := json.Unmarshal(b, &r); err != nil || r != atrion.ReasonDeadline {
		t.Fatalf("read back %v, %v", r, err)
	}
	if _, err := (atrion.ReasonDeadline + 1).MarshalText(); err == nil {
		t.Fatal("a reason past ReasonDeadline marshalled")
	}
}

// serve learns route's no-load latency: n calls of lat each, one at a
// time, over a few ticks.
func serve(a *atrion.Atrion, clk *atrion.ManualClock, route string, lat time.Duration, n int) {
	for range n {
		tk, _ := a.Admit(route, atrion.PriorityNormal)
		clk.Advance(lat)
		tk.Done(atrion.Success)
	}
	clk.Advance(100 * time.Millisecond)
}

// A caller whose time left is shorter than the route's no-load latency is
// refused at once, counted, with no retry hint and nothing left in
// flight; one with time enough is admitted; a passed deadline is always
// refused, hostile ones never panic.
func TestAdmitWithinRefusesTheTooLate(t *testing.T) {
	a, clk := atriontest.New(t)
	const route = "GET /dep"
	// before anything is known, only a passed deadline is refused
	tk, d := a.AdmitWithin(route, atrion.PriorityNormal, time.Nanosecond)
	if !d.Allowed {
		t.Fatalf("refused %+v with nothing learned", d)
	}
	clk.Advance(40 * time.Millisecond)
	tk.Done(atrion.Success)
	serve(a, clk, route, 40*time.Millisecond, 20)
	s, _ := a.Snapshot(route)
	if s.LatencyFloor < 35*time.Millisecond || s.LatencyFloor > 45*time.Millisecond {
		t.Fatalf("floor %v, want about 40 ms", s.LatencyFloor)
	}
	h := a.Handle(route)
	cases := []struct {
		left time.Duration
		ok   bool
	}{
		{30 * time.Millisecond, false}, {s.LatencyFloor - time.Millisecond, false},
		{60 * time.Millisecond, true}, {time.Hour, true}, {math.MaxInt64, true},
		{0, false}, {-time.Second, false}, {math.MinInt64, false},
	}
	refused := 0
	for _, c := range cases {
		for i, admit := range []func() (atrion.Ticket, atrion.Decision){
			func() (atrion.Ticket, atrion.Decision) { return a.AdmitWithin(route, atrion.PriorityNormal, c.left) },
			func() (atrion.Ticket, atrion.Decision) { return h.AdmitWithin(atrion.PriorityNormal, c.left) },
			func() (atrion.Ticket, atrion.Decision) {
				kt, d := a.AdmitKeyWithin(route, "client-1", atrion.PriorityNormal, c.left)
				return kt.Ticket, d
			},
			func() (atrion.Ticket, atrion.Decision) {
				kt, d := h.AdmitKeyWithin("client-1", atrion.PriorityNormal, c.left)
				return kt.Ticket, d
			},
		} {
			tk, d := admit()
			if d.Allowed != c.ok {
				t.Fatalf("variant %d, %v left of a %v floor: allowed %v, want %v (%+v)", i, c.left, s.LatencyFloor, d.Allowed, c.ok, d)
			}
			if !d.Allowed {
				refused++
				if d.Reason != atrion.ReasonDeadline || d.RetryAfter != 0 || tk.Route() != "" {
					t.Fatalf("refusal %+v: want ReasonDeadline without a retry hint and no ticket", d)
				}
			}
			tk.Done(atrion.Success)
		}
	}
	s, _ = a.Snapshot(route)
	if s.Totals.Rejected.Deadline != uint64(refused) || s.Totals.Rejected.For(atrion.ReasonDeadline) != uint64(refused) ||
		s.Totals.Rejected.Total() != uint64(refused) || s.InFlight != 0 {
		t.Fatalf("totals %+v, in flight %v: want %d deadline refusals, nothing in flight", s.Totals, s.InFlight, refused)
	}
	if s.Totals.Decisions != s.Totals.Admitted+uint64(refused) {
		t.Fatalf("decisions %d ≠ admitted %d + refused %d", s.Totals.Decisions, s.Totals.Admitted, refused)
	}
}

// mixedServer is a service of 8 workers × 40 ms behind a, under 400
// calls/s (twice its capacity), of whose callers 10 % give up after 30 ms
// (a budget mostly spent upstream: no worker can serve them in time), 45 %
// after 60 ms (in time only without a queue) and 45 % after 500 ms, on
// the manual clock. Admitted calls wait for a worker in order and leave
// the queue when their caller gives up; a started call runs to its end.
// What it counts is over the last 20 s of 30.
type mixedServer struct {
	served, wasted, refusedDeadline int
	doomed                          int // calls started with less time left at admission than a worker takes
}

func runMixed(t *testing.T, withDeadline bool) mixedServer {
	t.Helper()
	a, clk := atriontest.New(t)
	const route = "unary"
	const workers, work = 8, 40 * time.Millisecond
	type call struct {
		tk       atrion.Ticket
		deadline time.Duration // engine time
		doomed   bool
	}
	var queue []call
	var busy []call
	var ends []time.Duration // busy's ends
	rng := rand.New(rand.NewPCG(1, 2))
	var out mixedServer
	start := func(now time.Duration) {
		for len(busy) < workers && len(queue) > 0 {
			if queue[0].doomed && now > 10*time.Second {
				out.doomed++
			}
			busy, ends = append(busy, queue[0]), append(ends, now+work)
			queue = queue[1:]
		}
	}
	var now time.Duration
	next := time.Duration(0)
	const step = time.Millisecond
	for now = 0; now < 30*time.Second; now += step {
		// finish work
		for i := 0; i < len(busy); {
			if ends[i] > now {
				i++
				continue
			}
			c := busy[i]
			if now <= c.deadline {
				c.tk.Done(atrion.Success)
				if now > 10*time.Second {
					out.served++
				}
			} else {
				c.tk.Done(atrion.Canceled)
				if now > 10*time.Second {
					out.wasted++
				}
			}
			busy, ends = append(busy[:i], busy[i+1:]...), append(ends[:i], ends[i+1:]...)
		}
		// callers give up while queued
		for i := 0; i < len(queue); {
			if queue[i].deadline < now {
				queue[i].tk.Done(atrion.Canceled)
				queue = append(queue[:i], queue[i+1:]...)
				continue
			}
			i++
		}
		start(now)
		// arrivals: Poisson at 400/s
		for next <= now {
			left := 500 * time.Millisecond
			switch k := rng.IntN(20); {
			case k < 2:
				left = 30 * time.Millisecond
			case k < 11:
				left = 60 * time.Millisecond
			}
			var tk atrion.Ticket
			var d atrion.Decision
			if withDeadline {
				tk, d = a.AdmitWithin(route, atrion.PriorityNormal, left)
			} else {
				tk, d = a.Admit(route, atrion.PriorityNormal)
			}
			if d.Allowed {
				queue = append(queue, call{tk, now + left, left < work})
			} else if d.Reason == atrion.ReasonDeadline && now > 10*time.Second {
				out.refusedDeadline++
			}
			next += time.Duration(rng.ExpFloat64() * float64(time.Second) / 400)
		}
		start(now)
		clk.Advance(step)
	}
	for _, c := range append(busy, queue...) {
		c.tk.Done(atrion.Canceled)
	}
	return out
}

// In the mixed case, admission by deadline starts no call that no worker
// could serve in time, wastes a fraction of the work and serves more
// calls in time than admission without the deadlines (measured: served
// 3,714 → 3,944 of about 4,000, wasted 285 → 46).
func TestAdmitWithinMixedDeadlines(t *testing.T) {
	before := runMixed(t, false)
	after := runMixed(t, true)
	t.Logf("20 s at 2× capacity (4,000 calls servable): without deadlines served %d, wasted %d (%d doomed at admission); with them served %d, wasted %d (%d doomed), refused %d for their deadline",
		before.served, before.wasted, before.doomed, after.served, after.wasted, after.doomed, after.refusedDeadline)
	if after.refusedDeadline == 0 {
		t.Fatal("no call refused for its deadline")
	}
	if after.doomed != 0 || after.served <= before.served || 4*after.wasted > before.wasted {
		t.Fatalf("with deadlines: %d doomed calls started, served %d (without %d), wasted %d (without %d): want none doomed, more served, a quarter of the waste at most",
			after.doomed, after.served, before.served, after.wasted, before.wasted)
	}
	if after.served < 3600 {
		t.Fatalf("served %d of about 4,000 servable in 20 s: want 90 %% of capacity", after.served)
	}
}

// AdmitWithin does not allocate, refused or admitted, once the route has
// seen a deadline.
func TestAdmitWithinAllocs(t *testing.T) {
	a, clk := atriontest.New(t)
	serve(a, clk, "r", 40*time.Millisecond, 20)
	h := a.Handle("r")
	for _, left := range []time.Duration{time.Millisecond, time.Second} {
		if n := testing.AllocsPerRun(200, func() {
			tk, _ := h.AdmitWithin(atrion.PriorityNormal, left)
			tk.Done(atrion.Success)
			kt, _ := a.AdmitKeyWithin("r", "k", atrion.PriorityNormal, left)
			kt.Done(atrion.Success)
		}); n != 0 {
			t.Fatalf("%v left: %v allocs per AdmitWithin", left, n)
		}
	}
}

// BenchmarkAdmitWithinDone is AdmitWithin + Done with time enough left,
// beside BenchmarkAdmitDone: the cost of a deadline.
func BenchmarkAdmitWithinDone(b *testing.B) {
	a, err := atrion.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	b.ReportAllocs()
	for b.Loop() {
		t, d := a.AdmitWithin("GET /users/:id", atrion.PriorityNormal, time.Second)
		if d.Allowed {
			t.Done(atrion.Success)
		}
	}
}
