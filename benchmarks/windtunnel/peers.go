package windtunnel

import (
	"errors"
	"github.com/atrion-go/atrion/benchmarks/internal/peerconf"
	"reflect"
	"time"
	"unsafe"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	aegiscb "github.com/go-kratos/aegis/circuitbreaker"
	"github.com/go-kratos/aegis/circuitbreaker/sre"
	"github.com/go-kratos/aegis/ratelimit"
	"github.com/go-kratos/aegis/ratelimit/bbr"
	"github.com/sony/gobreaker/v2"
)

// This file adapts Atrion's peers to the Guard interface, each deployed
// as its users deploy it. Breakers (gobreaker, failsafe-go's breaker,
// aegis's SRE breaker) keep one instance per route: a user keeps one per
// dependency or operation. Limiters that protect a process (failsafe-go's
// adaptive limiter, aegis's BBR) keep one per node, as a server middleware
// does. They all read the wall clock, so they run in a synctest bubble
// (see Run). Their settings are sensible and documented, not straw men: a
// breaker trips on a majority of failures over a rolling window with a
// minimum volume, stays open 5 s, probes with 5 calls; limiters keep their
// libraries' defaults. Each is told about outcomes the way its library
// (or its framework's middleware) classifies them by default.

// errCall is the error a peer is told about for a failed or abandoned
// call.
var errCall = errors.New("windtunnel: call failed")

// instances keeps one peer instance per key (a route, or a route's node)
// and counts state changes.
type instances[T any] struct {
	keyOf       func(route string) string
	build       func(key string, transitions *int) T
	byKey       map[string]T
	byRoute     map[string]T
	transitions int
}

// perRoute keeps one instance per route.
func perRoute[T any](build func(route string, transitions *int) T) *instances[T] {
	return &instances[T]{keyOf: func(r string) string { return r }, build: build, byKey: map[string]T{}, byRoute: map[string]T{}}
}

// perNode keeps one instance per node: the routes a process guards share
// it.
func perNode[T any](env Env, build func(node string, transitions *int) T) *instances[T] {
	return &instances[T]{keyOf: func(r string) string { return env.Route(r).Node }, build: build, byKey: map[string]T{}, byRoute: map[string]T{}}
}

func (p *instances[T]) get(route string) T {
	if v, ok := p.byRoute[route]; ok {
		return v
	}
	k := p.keyOf(route)
	v, ok := p.byKey[k]
	if !ok {
		v = p.build(k, &p.transitions)
		p.byKey[k] = v
	}
	p.byRoute[route] = v
	return v
}

// funcPermit adapts a callback to Permit.
type funcPermit func(Outcome)

func (f funcPermit) Done(o Outcome) { f(o) }

// Gobreaker is sony/gobreaker v2 (TwoStepCircuitBreaker): trips when at
// least half of at least 20 calls failed in a 10 s rolling window
// (1 s buckets), stays open 5 s, closes after 5 successful probes.
var Gobreaker = Contestant{
	Name:      "gobreaker",
	Settings:  "sony/gobreaker v2: trip at ≥50% failures of ≥20 calls in a 10 s rolling window (1 s buckets); open 5 s; 5 half-open probes; one per route",
	WallClock: true,
	New: func(Env) (Guard, error) {
		return &gobreakerGuard{perRoute(func(route string, n *int) *gobreaker.TwoStepCircuitBreaker[struct{}] {
			return gobreaker.NewTwoStepCircuitBreaker[struct{}](peerconf.Gobreaker(route, func() { *n++ }))
		})}, nil
	},
}

type gobreakerGuard struct {
	r *instances[*gobreaker.TwoStepCircuitBreaker[struct{}]]
}

func (g *gobreakerGuard) Admit(route string, _ atrion.Priority) (Permit, bool) {
	done, err := g.r.get(route).Allow()
	if err != nil {
		return nil, false
	}
	return funcPermit(func(o Outcome) { // by default any error counts (IsSuccessful: err == nil)
		if o == Success {
			done(nil)
			return
		}
		done(errCall)
	}), true
}

var gobreakerStates = map[gobreaker.State]State{
	gobreaker.StateClosed:   StateClosed,
	gobreaker.StateHalfOpen: StateHalfOpen,
	gobreaker.StateOpen:     StateOpen,
}

func (g *gobreakerGuard) Probe(route string) Probe {
	p := noProbe
	p.State = gobreakerStates[g.r.get(route).State()]
	return p
}

func (g *gobreakerGuard) Transitions() int { return g.r.transitions }
func (g *gobreakerGuard) Close()           {}

// FailsafeBreaker is failsafe-go's time-based circuit breaker: trips at a
// 50 % failure rate over at least 20 calls in a 10 s rolling period,
// delay 5 s, closes after 5 consecutive successful probes.
var FailsafeBreaker = Contestant{
	Name:      "failsafe-breaker",
	Settings:  "failsafe-go circuitbreaker: failure rate ≥50% over ≥20 calls in 10 s; delay 5 s; 5 successes to close; one per route",
	WallClock: true,
	New: func(Env) (Guard, error) {
		return &failsafeBreakerGuard{perRoute(func(_ string, n *int) circuitbreaker.CircuitBreaker[any] {
			return circuitbreaker.NewBuilder[any]().
				WithFailureRateThreshold(0.5, 20, 10*time.Second).
				WithDelay(5 * time.Second).
				WithSuccessThreshold(5).
				OnStateChanged(func(circuitbreaker.StateChangedEvent) { *n++ }).
				Build()
		})}, nil
	},
}

type failsafeBreakerGuard struct {
	r *instances[circuitbreaker.CircuitBreaker[any]]
}

func (g *failsafeBreakerGuard) Admit(route string, _ atrion.Priority) (Permit, bool) {
	cb := g.r.get(route)
	if !cb.TryAcquirePermit() {
		return nil, false
	}
	return funcPermit(func(o Outcome) { // by default every error is a failure
		if o == Success {
			cb.RecordSuccess()
			return
		}
		cb.RecordFailure()
	}), true
}

var failsafeStates = map[circuitbreaker.State]State{
	circuitbreaker.ClosedState:   StateClosed,
	circuitbreaker.HalfOpenState: StateHalfOpen,
	circuitbreaker.OpenState:     StateOpen,
}

func (g *failsafeBreakerGuard) Probe(route string) Probe {
	p := noProbe
	p.State = failsafeStates[g.r.get(route).State()]
	return p
}

func (g *failsafeBreakerGuard) Transitions() int { return g.r.transitions }
func (g *failsafeBreakerGuard) Close()           {}

// FailsafeLimiter is failsafe-go's adaptive concurrency limiter with its
// defaults (limits 1..200, initial 20, p90 of recent latencies against a
// baseline), without queueing: a call over the limit is rejected. It runs
// one per node, as a server middleware (failsafehttp.NewHandler) does: it
// is built to find "the capacity of the machine it's running on". Per its
// documentation a permit whose call ended prematurely (timed out,
// cancelled) is dropped, not recorded.
var FailsafeLimiter = Contestant{
	Name:      "failsafe-limiter",
	Settings:  "failsafe-go adaptivelimiter defaults (limit 1..200, initial 20), no queueing, one per node; timeouts and cancellations dropped as documented",
	WallClock: true,
	New: func(env Env) (Guard, error) {
		return &failsafeLimiterGuard{perNode(env, func(string, *int) adaptivelimiter.AdaptiveLimiter[any] {
			return adaptivelimiter.NewWithDefaults[any]()
		})}, nil
	},
}

type failsafeLimiterGuard struct {
	r *instances[adaptivelimiter.AdaptiveLimiter[any]]
}

func (g *failsafeLimiterGuard) Admit(route string, _ atrion.Priority) (Permit, bool) {
	p, ok := g.r.get(route).TryAcquirePermit()
	if !ok {
		return nil, false
	}
	return funcPermit(func(o Outcome) {
		if o == Timeout || o == Canceled {
			p.Drop()
			return
		}
		p.Record()
	}), true
}

func (g *failsafeLimiterGuard) Probe(string) Probe { return noProbe }
func (g *failsafeLimiterGuard) Transitions() int   { return -1 }
func (g *failsafeLimiterGuard) Close()             {}

// AegisSRE is go-kratos/aegis's Google-SRE adaptive throttling breaker
// with its defaults: K = 1/0.6, at least 100 calls in a 3 s window of 10
// buckets; it rejects a share max(0, (total − K·accepts)/(total+1)). It is
// driven as kratos's circuitbreaker client middleware drives it: one per
// operation (route); a local rejection is marked failed ("let the drop
// ratio higher"); only server errors and gateway timeouts are failures, so
// a call cancelled because its caller went away (499) counts as success.
var AegisSRE = Contestant{
	Name:      "aegis-sre",
	Settings:  "go-kratos/aegis SRE breaker defaults: success 0.6 (K≈1.67), ≥100 calls, 3 s window of 10 buckets; one per route, marked as kratos's client middleware does",
	WallClock: true,
	New: func(Env) (Guard, error) {
		return &aegisSREGuard{perRoute(func(string, *int) aegiscb.CircuitBreaker {
			return sre.NewBreaker()
		})}, nil
	},
}

type aegisSREGuard struct {
	r *instances[aegiscb.CircuitBreaker]
}

func (g *aegisSREGuard) Admit(route string, _ atrion.Priority) (Permit, bool) {
	b := g.r.get(route)
	if b.Allow() != nil {
		b.MarkFailed()
		return nil, false
	}
	return funcPermit(func(o Outcome) {
		if o == Failure || o == Timeout {
			b.MarkFailed()
			return
		}
		b.MarkSuccess()
	}), true
}

func (g *aegisSREGuard) Probe(string) Probe { return noProbe }
func (g *aegisSREGuard) Transitions() int   { return -1 }
func (g *aegisSREGuard) Close()             {}

// AegisBBR is go-kratos/aegis's BBR limiter with its defaults (10 s
// window of 100 buckets, CPU threshold 800‰), one per node as kratos's
// ratelimit server middleware runs it. BBR sheds only while the CPU is
// above its threshold (or within a second of its last drop), and then
// caps in-flight calls at max passes per bucket × min RT (Little's law).
// It reads the CPU from a package-global sampler of the host, which no
// simulation can drive and which offers no option to replace it; so each
// limiter's CPU reading is set, in place, to its node's simulated CPU
// (Env.CPU: the share of workers doing their own work, not those waiting
// on downstream calls, over each 500 ms), folded into aegis's moving
// average the way its sampler does (see bbrCPU). Without it BBR would
// either never shed (an idle host) or, with the gate at 0, shed healthy
// traffic for good.
var AegisBBR = Contestant{
	Name:      "aegis-bbr",
	Settings:  "go-kratos/aegis BBR defaults (10 s window / 100 buckets, CPU threshold 800‰), one per node; CPU = the node's simulated CPU sampled every 500 ms, smoothed as aegis's sampler does",
	WallClock: true,
	New: func(env Env) (Guard, error) {
		var err error
		g := &aegisBBRGuard{perNode(env, func(node string, _ *int) ratelimit.Limiter {
			l := bbr.NewLimiter()
			c := &bbrCPU{samples: func() []float64 { return env.CPU(node) }}
			if e := setBBRCPU(l, c.read); e != nil {
				err = e
			}
			return l
		})}
		for _, n := range env.Nodes { // fail now, not mid-run, if aegis's layout changed
			g.r.byKey[n] = g.r.build(n, nil)
		}
		return g, err
	},
}

// bbrCPU is a simulated CPU reading in aegis's units (‰), computed as
// aegis computes the host's: every 500 ms its sampler stores the last
// interval's usage (a zero reading is not stored), and BBR folds the
// stored usage into an integer moving average, decay 0.95. Each 500 ms
// sample is folded in once, in order, whenever BBR next reads: nothing is
// filled in from the value at the time of reading.
type bbrCPU struct {
	samples func() []float64
	seen    int   // samples folded in so far
	usage   int64 // the sampler's stored usage (‰)
	ema     int64
}

func (c *bbrCPU) read() int64 {
	s := c.samples()
	for ; c.seen < len(s); c.seen++ {
		if u := int64(1000 * s[c.seen]); u != 0 {
			c.usage = min(u, 1000)
		}
		c.ema = int64(float64(c.ema)*0.95 + float64(c.usage)*0.05)
	}
	return c.ema
}

// setBBRCPU replaces a BBR limiter's CPU getter (its unexported cpu field,
// a func() int64) with f.
func setBBRCPU(l *bbr.BBR, f func() int64) error {
	v := reflect.ValueOf(l).Elem().FieldByName("cpu")
	if !v.IsValid() || v.Kind() != reflect.Func || !reflect.TypeOf(f).AssignableTo(v.Type()) {
		return errors.New("windtunnel: aegis bbr.BBR has no cpu func() int64 field to feed")
	}
	reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Set(reflect.ValueOf(f))
	return nil
}

type aegisBBRGuard struct{ r *instances[ratelimit.Limiter] }

func (g *aegisBBRGuard) Admit(route string, _ atrion.Priority) (Permit, bool) {
	done, err := g.r.get(route).Allow()
	if err != nil {
		return nil, false
	}
	return funcPermit(func(o Outcome) {
		var err error
		if o != Success {
			err = errCall
		}
		done(ratelimit.DoneInfo{Err: err})
	}), true
}

func (g *aegisBBRGuard) Probe(string) Probe { return noProbe }
func (g *aegisBBRGuard) Transitions() int   { return -1 }
func (g *aegisBBRGuard) Close()             {}

// Contestants returns every contestant, the baseline first: no
// protection, Atrion with its defaults, Atrion given the CPU signal, then
// its peers.
func Contestants() []Contestant {
	return []Contestant{None, Atrion, AtrionSat, Gobreaker, FailsafeBreaker, FailsafeLimiter, AegisSRE, AegisBBR}
}
