package atrion_test

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// pool is a worker-pool service on the manual clock, stepped one
// millisecond at a time: calls wait in a FIFO queue for one of workers,
// hold it for service, and their callers give up after timeout (Canceled).
type pool struct {
	a        *atrion.Atrion
	clk      *atrion.ManualClock
	route    string
	workers  int
	service  time.Duration
	timeout  time.Duration
	hang     bool // the dependency never answers
	now      time.Duration
	queue    []poolCall
	busy     []poolCall // each holds a worker until end
	served   int        // answered in time
	shed     int
	gaveUp   int
	critShed int
}

type poolCall struct {
	tk         atrion.Ticket
	start, end time.Duration
	prio       atrion.Priority
}

// step runs one millisecond with arrivals calls arriving.
func (p *pool) step(arrivals int, prio func(i int) atrion.Priority) {
	for i := range arrivals {
		pr := prio(i)
		tk, d := p.a.Admit(p.route, pr)
		if !d.Allowed {
			p.shed++
			if pr == atrion.PriorityCritical {
				p.critShed++
			}
			continue
		}
		p.queue = append(p.queue, poolCall{tk: tk, start: p.now, prio: pr})
	}
	// callers that waited too long give up
	keep := p.queue[:0]
	for _, c := range p.queue {
		if p.now-c.start >= p.timeout {
			c.tk.Done(atrion.Canceled)
			p.gaveUp++
			continue
		}
		keep = append(keep, c)
	}
	p.queue = keep
	busy := p.busy[:0]
	for _, c := range p.busy {
		switch {
		case c.tk.Route() != "" && p.now-c.start >= p.timeout:
			c.tk.Done(atrion.Canceled) // the worker goes on; the caller has gone
			p.gaveUp++
			c.tk = atrion.Ticket{}
			busy = append(busy, c)
		case !p.hang && p.now >= c.end:
			if c.tk.Route() != "" {
				c.tk.Done(atrion.Success)
				p.served++
			}
		default:
			busy = append(busy, c)
		}
	}
	p.busy = busy
	for len(p.busy) < p.workers && len(p.queue) > 0 {
		c := p.queue[0]
		p.queue = p.queue[1:]
		c.end = p.now + p.service
		p.busy = append(p.busy, c)
	}
	p.clk.Advance(time.Millisecond)
	p.now += time.Millisecond
}

func (p *pool) run(d time.Duration, perMs int, prio func(int) atrion.Priority) {
	for range int(d / time.Millisecond) {
		p.step(perMs, prio)
	}
}

func normal(int) atrion.Priority { return atrion.PriorityNormal }

// TestLimitHoldsCapacityUnderOverload: at 5× a worker pool's capacity the
// in-flight limit keeps every worker busy and the queue short: goodput
// near capacity, no caller timing out, while no protection would time
// out nearly everyone.
func TestLimitHoldsCapacityUnderOverload(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "GET /feed", workers: 20, service: 20 * time.Millisecond, timeout: 500 * time.Millisecond}
	p.run(5*time.Second, 0, normal) // quiet
	for range 2000 {                // healthy: half the capacity (500/s)
		p.step(0, normal)
		if p.now%2 == 0 {
			p.step(1, normal)
		}
	}
	p.served, p.shed, p.gaveUp = 0, 0, 0
	p.run(10*time.Second, 5, normal) // 5,000/s against a capacity of 1,000/s
	capacity := 1000 * 10
	if p.served < capacity*90/100 {
		t.Fatalf("served %d in 10 s of 5× overload, want ≥ 90 %% of capacity %d (shed %d, gave up %d)", p.served, capacity, p.shed, p.gaveUp)
	}
	if p.gaveUp > p.served/50 {
		t.Fatalf("%d callers gave up against %d served: the queue is too long", p.gaveUp, p.served)
	}
	s, _ := a.Snapshot("GET /feed")
	if s.Mode == atrion.ModeCircuitOpen {
		t.Fatal("pure overload opened the circuit: that is the limit's job")
	}
	if s.Limit < 20 || s.Limit > 60 {
		t.Fatalf("limit %.1f for 20 workers: want it a little above them", s.Limit)
	}
}

// TestCriticalServedThroughOverload: under overload the limit sheds bulk,
// low and normal traffic first; critical traffic that fits the service is
// never shed, and critical traffic that alone exceeds it is shed last,
// queueing no further than that: nobody times out.
func TestCriticalServedThroughOverload(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "POST /checkout", workers: 20, service: 20 * time.Millisecond, timeout: 500 * time.Millisecond}
	// 4× capacity, an eighth of it critical: half what the service serves
	n := 0
	mix := func(int) atrion.Priority {
		n++
		return []atrion.Priority{atrion.PriorityCritical, atrion.PriorityNormal, atrion.PriorityLow, atrion.PriorityBulk,
			atrion.PriorityNormal, atrion.PriorityLow, atrion.PriorityBulk, atrion.PriorityNormal}[n%8]
	}
	p.run(2*time.Second, 1, mix)
	p.served, p.critShed = 0, 0
	p.run(10*time.Second, 4, mix)
	if p.critShed != 0 {
		t.Fatalf("%d critical calls shed, with critical traffic at half the capacity", p.critShed)
	}
	if p.served < 9000 {
		t.Fatalf("served %d in 10 s at 4× overload, want ≥ 9,000 of a capacity of 10,000", p.served)
	}

	// critical traffic alone at twice the capacity
	b, clkB := atriontest.New(t)
	q := &pool{a: b, clk: clkB, route: "POST /checkout", workers: 20, service: 20 * time.Millisecond, timeout: 500 * time.Millisecond}
	crit := func(int) atrion.Priority { return atrion.PriorityCritical }
	q.run(2*time.Second, 1, crit)
	q.served, q.gaveUp = 0, 0
	q.run(10*time.Second, 2, crit)
	if q.served < 9000 || q.gaveUp > q.served/50 {
		t.Fatalf("critical traffic at 2× capacity: served %d, %d callers gave up: want ≥ 9,000 served and a short queue", q.served, q.gaveUp)
	}
}

// TestHungDependencyIsShed: a dependency that never answers, whose
// callers all give up after a second: nothing ever completes, yet the
// route sees the hang (slow samples, stale in-flight) and sheds within 3 s.
func TestHungDependencyIsShed(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "GET /dep", workers: 1000, service: 20 * time.Millisecond, timeout: time.Second}
	p.run(5*time.Second, 1, normal) // healthy, 1,000/s
	p.hang = true
	p.served, p.shed = 0, 0
	p.run(3*time.Second, 1, normal)
	tried := 3000
	p.shed = 0
	p.run(time.Second, 1, normal)
	if p.shed < 900 {
		t.Fatalf("in the 4th second of a hang only %d of 1,000 calls were shed (first 3 s: %d tried)", p.shed, tried)
	}
	if s, _ := a.Snapshot("GET /dep"); s.Pressure[atrion.PressureLatency] < 0.7 {
		t.Fatalf("a hang must show as latency pressure: %v", s.Pressure)
	}
}

// TestSlowerDependencyIsNotShed: the Boiling Frog. A dependency with
// workers to spare slows 4 % a second, from 20 ms to 10× that. Its latency
// leaves the no-load latency far behind, but cutting its in-flight drains
// no queue, only loses calls: the route keeps serving what the callers'
// timeout allows. Then the slowness meets the workers (capacity falls
// below demand), a queue forms, and shedding is right again: the limit
// keeps callers from timing out behind it.
func TestSlowerDependencyIsNotShed(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "GET /leaky", workers: 1000, service: 20 * time.Millisecond, timeout: time.Second}
	p.run(5*time.Second, 1, normal) // healthy, 1,000/s, 20 in flight
	p.served, p.shed, p.gaveUp = 0, 0, 0
	for p.service < 200*time.Millisecond { // about 59 s of creeping latency
		p.service = time.Duration(float64(p.service) * math.Pow(1.04, 0.1))
		p.run(100*time.Millisecond, 1, normal)
	}
	if offered := p.served + p.shed + p.gaveUp; p.served < offered*97/100 {
		t.Fatalf("a 10× slower dependency with workers to spare: served %d of %d (shed %d, gave up %d), want ≥ 97 %%",
			p.served, offered, p.shed, p.gaveUp)
	}
	if s, _ := a.Snapshot(p.route); s.Pressure[atrion.PressureLatency] < 0.5 {
		t.Fatalf("the slowdown must still show in R's latency pressure: %v", s.Pressure)
	}
	// 150 workers at 200 ms serve 750/s of the 1,000/s offered
	p.workers = 150
	p.run(5*time.Second, 1, normal)
	p.served, p.shed, p.gaveUp = 0, 0, 0
	p.run(10*time.Second, 1, normal)
	if capacity := 750 * 10; p.served < capacity*85/100 || p.gaveUp > p.served/10 {
		t.Fatalf("saturated at 750/s: served %d in 10 s (want ≥ 85 %% of %d), %d callers gave up (shed %d)",
			p.served, capacity, p.gaveUp, p.shed)
	}
}

// TestPatienceBoundsTheQueue: a dependency whose no-load latency (600 ms)
// is more than half its callers' patience (1 s). The latency gradient
// alone would queue up to twice the no-load latency, past every caller's
// timeout; callers giving up is loss, and the limit cuts on it, so the
// queue stays short enough for the served to be served in time.
func TestPatienceBoundsTheQueue(t *testing.T) {
	a, clk := atriontest.New(t)
	p := &pool{a: a, clk: clk, route: "GET /render", workers: 100, service: 600 * time.Millisecond, timeout: time.Second}
	for i := range 10_000 { // healthy: 100/s, 60 in flight
		p.step(b2i(i%10 == 0), normal)
	}
	p.run(5*time.Second, 1, normal) // 1,000/s against a capacity of 166/s
	p.served, p.shed, p.gaveUp = 0, 0, 0
	p.run(10*time.Second, 1, normal)
	t.Logf("served %d in 10 s, %d callers gave up, shed %d", p.served, p.gaveUp, p.shed)
	if capacity := 1666; p.served < capacity*85/100 || p.gaveUp > p.served/10 {
		t.Fatalf("6× overload of a 600 ms dependency, 1 s patience: served %d in 10 s (want ≥ 85 %% of %d), %d callers gave up (shed %d)",
			p.served, capacity, p.gaveUp, p.shed)
	}
}

// TestLatencyAloneDoesNotOpen: a dependency 10× slower with no error
// raises R but never opens the circuit.
func TestLatencyAloneDoesNotOpen(t *testing.T) {
	a, clk := atriontest.New(t)
	for tick := range 300 {
		lat := 20 * time.Millisecond
		if tick > 100 {
			lat = 200 * time.Millisecond
		}
		for range 10 {
			a.ReportOutcome("r", atrion.Outcome{Latency: lat})
		}
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot("r")
		if s.Mode == atrion.ModeCircuitOpen {
			t.Fatalf("tick %d: latency alone opened the circuit (R=%.1f)", tick, s.Resistance)
		}
	}
	if s, _ := a.Snapshot("r"); s.Resistance <= 10 {
		t.Fatalf("10× latency must show in R, got %.1f", s.Resistance)
	}
}

// TestBackgroundErrorsDoNotOpen: 1 % errors at 10 calls a tick (one error
// is a tenth of a tick's calls) and a partial outage (a third of the calls
// fail: one replica of three down) never open the circuit.
func TestBackgroundErrorsDoNotOpen(t *testing.T) {
	for _, c := range []struct {
		name  string
		every int // one call in every fails
	}{{"1 % errors", 100}, {"one replica of three down", 3}} {
		a, clk := atriontest.New(t)
		n := 0
		for tick := range 600 {
			for range 10 {
				n++
				a.ReportOutcome("r", atrion.Outcome{Latency: 20 * time.Millisecond, IsError: n%c.every == 0})
			}
			clk.Advance(100 * time.Millisecond)
			if s, _ := a.Snapshot("r"); s.Mode == atrion.ModeCircuitOpen {
				t.Fatalf("%s: opened at tick %d (R=%.1f, errors %.2f)", c.name, tick, s.Resistance, s.ErrorRate)
			}
		}
		if s, _ := a.Snapshot("r"); c.every == 100 && s.Scar > 1 {
			t.Fatalf("%s: scar %.2f: one error in ten calls is no trauma", c.name, s.Scar)
		}
	}
}

// TestOneInOneIsTrauma: one call that failed is trauma (the reference
// trajectory's first error tick), one in ten is not.
func TestOneInOneIsTrauma(t *testing.T) {
	for _, c := range []struct {
		calls   int
		trauma  bool
		wantMin float64
	}{{1, true, 5}, {10, false, 0}} {
		a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
		for i := range c.calls {
			a.ReportOutcome("r", atrion.Outcome{Latency: 50 * time.Millisecond, IsError: i == 0})
		}
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot("r")
		if (s.Scar >= 5) != c.trauma {
			t.Fatalf("1 error in %d calls: scar %.2f, trauma want %v", c.calls, s.Scar, c.trauma)
		}
	}
}

// TestCertainFailureTripsInBootstrap: a dependency down from the start,
// failing every one of many calls, opens the circuit at once, bootstrap or
// not.
func TestCertainFailureTripsInBootstrap(t *testing.T) {
	a, clk := atriontest.New(t)
	for tick := range 3 {
		for range 50 {
			if tk, d := a.Admit("r", atrion.PriorityNormal); d.Allowed {
				tk.Done(atrion.Failure)
			}
		}
		clk.Advance(100 * time.Millisecond)
		if s, _ := a.Snapshot("r"); s.Mode == atrion.ModeCircuitOpen {
			return
		}
		_ = tick
	}
	s, _ := a.Snapshot("r")
	t.Fatalf("150 failures of 150 calls in 3 ticks: mode %v, want CIRCUIT_OPEN", s.Mode)
}

// TestAntiWindupBoundsHealing: while the circuit is open and its probes
// fail, scar stops piling up, so a long outage heals as fast as a short
// one once the failures stop.
func TestAntiWindupBoundsHealing(t *testing.T) {
	heal := func(outage time.Duration) time.Duration {
		a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
		for range int(outage / (100 * time.Millisecond)) {
			for range 20 {
				if tk, d := a.Admit("r", atrion.PriorityNormal); d.Allowed {
					tk.Done(atrion.Failure)
				}
			}
			clk.Advance(100 * time.Millisecond)
		}
		for i := range 3000 { // silence: healing by time alone
			clk.Advance(100 * time.Millisecond)
			if s, _ := a.Snapshot("r"); s.Mode != atrion.ModeCircuitOpen {
				return time.Duration(i) * 100 * time.Millisecond
			}
		}
		t.Fatal("never healed")
		return 0
	}
	// without anti-windup scar would approach σ/(1 − e^(−λ·tick)) ≈ 500
	// and take ln(500/40)/λ ≈ 25 s to heal below the recovery point; held
	// near the break point (90 above R_base) it takes ln(90/40)/λ ≈ 8 s
	short, long := heal(20*time.Second), heal(2*time.Minute)
	if long > 10*time.Second || long > short+time.Second {
		t.Fatalf("healing took %v after a 2 min outage, %v after a 20 s one: scar wound up", long, short)
	}
}

// TestStartupOverloadDoesNotPoisonBaseline: a route that starts under
// load, fast at first and then queueing, keeps the low latency as its
// baseline.
func TestStartupOverloadDoesNotPoisonBaseline(t *testing.T) {
	a, clk := atriontest.New(t)
	for tick := range 100 {
		lat := 20 * time.Millisecond
		if tick >= 2 {
			lat = 600 * time.Millisecond // the queue has built up
		}
		for range 10 {
			a.ReportOutcome("r", atrion.Outcome{Latency: lat})
		}
		clk.Advance(100 * time.Millisecond)
	}
	s, _ := a.Snapshot("r")
	if s.LatencyFloor > 35*time.Millisecond || s.LatencyBaseline > 70*time.Millisecond {
		t.Fatalf("floor %v baseline %v: the startup overload became the normal", s.LatencyFloor, s.LatencyBaseline)
	}
}

// sharedPool is a worker pool two routes share, stepped one millisecond
// at a time, FIFO across routes; callers give up after timeout.
type sharedPool struct {
	a       *atrion.Atrion
	clk     *atrion.ManualClock
	workers int
	timeout time.Duration
	service map[string]time.Duration
	now     time.Duration
	queue   []sharedCall
	busy    []sharedCall
	served  map[string]int
}

type sharedCall struct {
	route      string
	tk         atrion.Ticket
	start, end time.Duration
}

func (p *sharedPool) step(arrivals map[string]int) {
	for _, route := range slices.Sorted(maps.Keys(arrivals)) {
		for range arrivals[route] {
			if tk, d := p.a.Admit(route, atrion.PriorityNormal); d.Allowed {
				p.queue = append(p.queue, sharedCall{route: route, tk: tk, start: p.now})
			}
		}
	}
	keep := p.queue[:0]
	for _, c := range p.queue {
		if p.now-c.start >= p.timeout {
			c.tk.Done(atrion.Canceled)
			continue
		}
		keep = append(keep, c)
	}
	p.queue = keep
	busy := p.busy[:0]
	for _, c := range p.busy {
		switch {
		case p.now >= c.end:
			if c.tk.Route() != "" {
				c.tk.Done(atrion.Success)
				p.served[c.route]++
			}
		case c.tk.Route() != "" && p.now-c.start >= p.timeout:
			c.tk.Done(atrion.Canceled) // the worker goes on
			c.tk = atrion.Ticket{}
			busy = append(busy, c)
		default:
			busy = append(busy, c)
		}
	}
	p.busy = busy
	for len(p.busy) < p.workers && len(p.queue) > 0 {
		c := p.queue[0]
		p.queue = p.queue[1:]
		c.end = p.now + p.service[c.route]
		p.busy = append(p.busy, c)
	}
	p.clk.Advance(time.Millisecond)
	p.now += time.Millisecond
}

// TestSharedBudgetShedsTheSlowRoute: a slow route starves a healthy one of
// the workers they share. Its own slowness is modest (3×), but its calls
// fill the pool, so the healthy route's calls queue behind them and its
// latency, relative to its own, rises far more. With the engine's shared
// budget (its default) the healthy route keeps its goodput, and more of
// it than with per-route limits alone, which shed the healthy route for
// the queue the slow one causes.
func TestSharedBudgetShedsTheSlowRoute(t *testing.T) {
	run := func(opts ...atrion.Option) (healthy, slow int) {
		a, clk := atriontest.New(t, opts...)
		p := &sharedPool{a: a, clk: clk, workers: 20, timeout: time.Second, served: map[string]int{},
			service: map[string]time.Duration{"GET /fast": 10 * time.Millisecond, "GET /report": 100 * time.Millisecond}}
		// healthy: 500/s fast calls (5 workers) and 100/s reports (10 workers)
		step := func(i int) { p.step(map[string]int{"GET /fast": b2i(i%2 == 0), "GET /report": b2i(i%10 == 0)}) }
		for i := range 5000 {
			step(i)
		}
		p.service["GET /report"] = 300 * time.Millisecond // its dependency slows 3×: 30 workers' worth
		p.served = map[string]int{}
		for i := range 20000 {
			step(i)
		}
		return p.served["GET /fast"], p.served["GET /report"]
	}
	sharedFast, sharedSlow := run()
	aloneFast, aloneSlow := run(atrion.WithGroups(func(string) string { return "" }))
	t.Logf("fast route served %d with the shared budget (slow %d), %d with per-route limits only (slow %d), of 10,000",
		sharedFast, sharedSlow, aloneFast, aloneSlow)
	if sharedFast < 10000*90/100 {
		t.Fatalf("the healthy route served %d of 10,000 calls in 20 s beside a slow one, want ≥ 90 %%", sharedFast)
	}
	if sharedFast < aloneFast {
		t.Fatalf("the shared budget served the healthy route less (%d) than per-route limits alone (%d)", sharedFast, aloneFast)
	}
}

// TestSharedOverloadHeldByEveryRoute: three routes share one worker pool
// and overload it together, 5× its capacity. Each route's own latency is
// the shared queue's; the route that answers for it is cut, and the others
// must not grow into it meanwhile: goodput stays near capacity and nobody
// waits out their timeout.
func TestSharedOverloadHeldByEveryRoute(t *testing.T) {
	a, clk := atriontest.New(t)
	routes := []string{"GET /catalog", "GET /orders", "GET /reports"}
	p := &sharedPool{a: a, clk: clk, workers: 8, timeout: time.Second, served: map[string]int{},
		service: map[string]time.Duration{}}
	for _, r := range routes {
		p.service[r] = 40 * time.Millisecond // 8 workers: 200/s in all
	}
	step := func(i, every int) {
		arr := map[string]int{}
		for k, r := range routes {
			arr[r] = b2i((i+k)%every == 0)
		}
		p.step(arr)
	}
	for i := range 3000 { // healthy: 100/s in all
		step(i, 30)
	}
	for i := range 10_000 { // 1,000/s in all: 5× the capacity
		if i == 2000 {
			p.served = map[string]int{}
		}
		step(i, 3)
	}
	total := 0
	for _, n := range p.served {
		total += n
	}
	gaveUp := 0
	for _, r := range routes {
		s, _ := a.Snapshot(r)
		gaveUp += int(s.Totals.Slow)
	}
	t.Logf("served %v (%d of a capacity of 1,600 in 8 s); %d callers gave up", p.served, total, gaveUp)
	if total < 1600*90/100 || gaveUp > total/20 {
		t.Fatalf("three routes overloading a shared pool 5×: served %d in 8 s (want ≥ 90 %% of its capacity of 1,600), %d callers gave up", total, gaveUp)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
