package windtunnel

import (
	"math"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// This file holds the vocabulary scenarios are written in: services,
// routes, traffic and retry policies.

// Health is a service's condition at one moment.
type Health struct {
	Latency   time.Duration // median latency of its own work below capacity
	Jitter    float64       // log-normal σ of that latency (0: none)
	ErrorRate float64       // share of calls that fail (0..1)
	SpikeRate float64       // share of calls that take a latency spike instead
	SpikeMin  time.Duration // spike latency, uniform in [SpikeMin, SpikeMax]
	SpikeMax  time.Duration
	// CapacityFactor scales the service's workers (a cold start: 0.3);
	// 0 means 1.
	CapacityFactor float64
	// Down fails every call after FailFast (connection refused).
	Down bool
	// DownShare is the share of calls that reach a dead replica behind
	// the service's load balancer and fail after FailFast: one of N
	// replicas down is DownShare 1/N (with CapacityFactor (N−1)/N).
	DownShare float64
	// OtherCPU is the share of the host's CPU that other processes take
	// (a CPU hog beside the service): a sampler of the host's CPU reads
	// it on top of the service's own use. The latency it costs the
	// service is set apart, in Latency.
	OtherCPU float64
}

// FailFast is how long a call to a service that is down, or whose queue
// is full, takes to fail.
const FailFast = 5 * time.Millisecond

// Service is a simulated service: a pool of workers in front of a FIFO
// queue, as a thread-per-request server. A call holds a worker for its own
// work and while it waits for its downstream calls; calls beyond the
// workers wait in the queue, so latency grows with in-flight load.
//
// By default a caller that gives up does not cancel the work: the service
// still does it (no deadline propagation), which is the wasted work of an
// overload. A DeadlineAware service is the other common kind of server:
// it drops a queued call whose caller has gone instead of starting it,
// makes no further downstream calls for it, and passes its callers'
// deadlines and cancellations on to its own downstream calls.
type Service struct {
	Name string
	// Capacity is the number of workers: calls served at once.
	Capacity float64
	// Queue is the number of waiting calls beyond which new calls fail at
	// once (a full accept queue: an overloaded service answers 503); 0
	// means no limit.
	Queue int
	// DeadlineAware selects the deadline-aware service model (see above).
	DeadlineAware bool
	// Cores, when set, makes the own work CPU-bound on that many cores,
	// which the calls at work share (processor sharing, cpu.go): while n
	// are working each runs at min(1, Cores/n) of a core, so latency rises
	// with concurrency before the workers run out, and no core idles while
	// Cores calls are at work. The service's CPU reading is then
	// min(working, Cores)/Cores instead of working/workers.
	Cores int
	// Health gives its condition at a time since the start of the run.
	Health func(t time.Duration) Health
}

// Route is one guarded call path: a caller calls ID on Service, waits at
// most Timeout, and the service, after its own work, calls Calls in
// sequence (each guarded in turn). A failed or timed-out downstream call
// fails the route's call.
type Route struct {
	ID      string
	Service string
	Timeout time.Duration
	Calls   []string
	// Node is the service whose process guards this route's calls
	// (default: Service, a server-side middleware). A client-side guard in
	// the caller names the caller here.
	Node string
	// Key is the route ID the guard sees (default: ID). Routes on
	// different nodes that call the same thing share a key, so that nodes
	// sharing state agree on it.
	Key string
	// Cost multiplies the service's latency for calls on this route
	// (0 means 1).
	Cost float64
	// ErrorRate is an extra failure share for this route only (malformed
	// requests).
	ErrorRate float64
	// Client is the client key its calls carry (an API key, a tenant, an
	// IP), for guards that judge clients apart from routes (Atrion's
	// AdmitKey); empty: none. Routes of different clients then share a
	// Key, and guards that know no client keys see only the routes.
	Client string
}

// Share is one priority's weight in a traffic mix.
type Share struct {
	Priority atrion.Priority
	Weight   float64
}

// Retry is a caller's retry policy. The n-th retry waits
// min(MaxBackoff, Backoff × 2^(n−1)), a uniform share of it when Jitter.
type Retry struct {
	Max        int           // retries after the first attempt
	Backoff    time.Duration // the first retry's delay
	MaxBackoff time.Duration // cap (0: none)
	Jitter     bool          // full jitter
	OnReject   bool          // retry local rejections too, not only failures
}

// delay is the wait before retry n (1-based).
func (r Retry) delay(n int, u float64) time.Duration {
	d := float64(r.Backoff) * math.Pow(2, float64(n-1))
	if r.MaxBackoff > 0 {
		d = math.Min(d, float64(r.MaxBackoff))
	}
	if r.Jitter {
		d *= u
	}
	return time.Duration(d)
}

// Traffic is one stream of user requests: open-loop when Rate is set,
// else Clients closed-loop clients that think for an exponential time of
// mean Think between requests.
type Traffic struct {
	Class string
	// Legit traffic counts toward goodput; attack traffic does not.
	Legit bool
	// Routes are the entry routes; each request picks one uniformly (one
	// route per client key, for example).
	Routes []string
	// Fallback is tried once when the entry route rejects or fails.
	Fallback string
	Rate     func(t time.Duration) float64 // requests per second
	Clients  int
	Think    time.Duration
	Mix      []Share // priorities; empty means all PriorityNormal
	Retry    Retry
	// Patience, when set, draws each user's patience from an exponential
	// distribution of this mean: a user still waiting after it cancels
	// the request (closes the tab) and does not retry. The service sees a
	// caller that went away (Canceled), not a timeout.
	Patience time.Duration
}

// Window is a span of simulated time since the start of a run.
type Window struct{ From, To time.Duration }

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Duration) bool { return t >= w.From && t < w.To }

// Healthy is a service in good shape with the given median latency.
func Healthy(latency time.Duration) Health { return Health{Latency: latency, Jitter: 0.3} }

// Phase is a span of time with its own health.
type Phase struct {
	Window
	Health func(t time.Duration) Health
}

// Phases returns a health function: the first phase that contains t, else
// base.
func Phases(base Health, ps ...Phase) func(time.Duration) Health {
	return func(t time.Duration) Health {
		for _, p := range ps {
			if p.Contains(t) {
				return p.Health(t)
			}
		}
		return base
	}
}

// Const is a constant health, for a Phase.
func Const(h Health) func(time.Duration) Health { return func(time.Duration) Health { return h } }

// Steps returns a rate function: rate rs[i] from ts[i] on (ts[0] is 0).
func Steps(ts []time.Duration, rs []float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		r := 0.0
		for i, s := range ts {
			if t >= s {
				r = rs[i]
			}
		}
		return r
	}
}

// Flat is a constant rate.
func Flat(rps float64) func(time.Duration) float64 { return func(time.Duration) float64 { return rps } }

// Linear returns a rate function that interpolates linearly between the
// points (ts[i], rs[i]) and is constant beyond them.
func Linear(ts []time.Duration, rs []float64) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if len(ts) == 0 {
			return 0
		}
		if t <= ts[0] {
			return rs[0]
		}
		for i := 1; i < len(ts); i++ {
			if t < ts[i] {
				f := float64(t-ts[i-1]) / float64(ts[i]-ts[i-1])
				return rs[i-1] + f*(rs[i]-rs[i-1])
			}
		}
		return rs[len(rs)-1]
	}
}
