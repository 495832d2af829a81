package atrion

import (
	"github.com/atrion-go/atrion/core/internal/law"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// failUnit is one outcome in the fixed-point success and failure counters,
// which also carry fractional error rates from Route.
const (
	failShift = 20
	failUnit  = 1 << failShift
)

// sampleEvery: above lowRateTick decisions per tick, one request in
// sampleEvery is timed (SPEC §9: a tick's mean latency may come from a
// sample of its requests when traffic is high), so a busy tick still has at
// least lowRateTick/sampleEvery = 8 samples; a clock read is the dearest
// part of the hot path.
const (
	sampleEvery = 32
	lowRateTick = 256
)

// routeEnv is what a route needs from the engine that tracks it: the
// clock, the tick, and where a closed tick's output goes.
type routeEnv struct {
	clock      *engineClock
	tick       time.Duration
	nodeID     string
	saturation func() float64 // WithSaturation; nil: none
	stats      *engineCounters
	emit       func(Event)
	enqueue    func(*route)
	live       *atomic.Pointer[liveConfig] // the configuration routes take at a tick close (Update)
	audit      func(AuditRecord)           // nil: no audit sink
	misuse     *misuseLog                  // where misuse is said (misuse.go)
	keyWeight  func(key string) float64    // WithKeyWeight; nil: every key weighs 1
	bans       *banList                    // the engine's (KeyTicket.Done judges keys there)
}

// route is one route's state. The hot path touches only atomics; the
// physics runs under mu when a tick closes.
type route struct {
	// read by every request, written only when a tick closes (under mu)
	id       string
	env      *routeEnv
	tickEnd  atomic.Int64
	mode     atomic.Uint32
	timeAll  atomic.Bool
	probe    atomic.Bool // an open circuit's probe, RECOVERING's one call per tick
	detached atomic.Bool // not in the table under its own ID: Handles look it up again
	rBits    atomic.Uint64
	rampTh   [5]atomic.Uint32 // RECOVERING: reject when the decision hash < rampTh[p]
	// share is its share of its group's capacity in calls in flight, 0
	// for none (share_group.go); under mu, here in what was padding
	share  float32
	band   [5]atomic.Uint64 // the in-flight limit's band per priority (bands); 0: none
	retry  atomic.Int64
	slowNs atomic.Int64 // latency baseline: a Canceled request that waited longer is a slow sample
	// frozen is in flight on stripes no longer counted into (narrow), less
	// leaked tickets written off (misuse.go)
	frozen atomic.Int64
	// leak watches for tickets never settled (misuse.go); its 32 bytes
	// bring the base stripe to a cache line of its own (TestRouteLayout)
	leak leakWatch

	ctr counters // written by every request, striped (counters.go)

	// written rarely: by ReportOutcome, Route and CanAccept
	satSum atomic.Uint64 // saturation × 1e6, swapped per tick
	satN   atomic.Uint64 // swapped per tick
	// keys are the client keys' shares of the route while its limit binds
	// (share_keys.go): nil until a keyed request is first shed. Bad inputs
	// count in the engine's counters (Stats.InvalidInputs), which gave
	// this pointer its 8 bytes.
	keys atomic.Pointer[keyShares]
	// deadlines is what admission by the caller's deadline reads and
	// counts (deadline.go): nil until a request first comes with one
	deadlines atomic.Pointer[deadlines]
	// untracked corrects in-flight for calls without a Ticket: outcomes
	// reported without an admission (+1), admissions that never get Done (−1)
	untracked atomic.Int64
	reported  atomic.Bool // this tick carried reported telemetry (ReportOutcome, Route)

	gi  int32  // its index in grp, under grp.mu; −1: not a member (beside reported: no padding)
	grp *group // the group whose shared queueing it takes part in, or nil

	mu sync.Mutex
	st routeState
}

// routeState is the physics state behind mu.
type routeState struct {
	law.State       // the control law (internal/law)
	lastEnd   int64 // end of the last closed tick (engine ns)
	ticks     uint64
	admits    [8]uint32 // admissions of the last ticks, a ring: the stale in-flight estimate
	admitAt   uint8
	queued    bool // waiting in the syncer's publish queue
	// peerOpen: a peer's vector adopted since the last tick close came from
	// an open circuit, which is failure evidence here too
	peerOpen bool
	// leakHealthy: the leak watch's last epoch finished its calls (misuse.go)
	leakHealthy bool
	cfgGen      uint32  // the generation of the live configuration it runs on (Update)
	inflight    float64 // at the last tick close
	// evidenceAt is when this route last saw new evidence of its own: a
	// trauma tick or a mode change. It dates the vector (publishedAt), so
	// last-writer-wins means newest evidence wins: a busy healthy peer
	// does not erase a failing node's scar. What peers' vectors brought is
	// in peer.
	evidenceAt time.Time
	byMode     [4][4]uint32 // transitions by from, to
	// demand is the limit's rejections beside the admissions, out of
	// line: nil until the route first sheds, as most routes never do
	demand *demandWindow
	// counter values at the last tick close, to take per-tick deltas
	lastSeq, lastSucc, lastFail uint64
	lastIgn, lastSlow           uint32                 // modulo 2³² (counterStripe)
	lastRej                     [numReasons - 1]uint32 // modulo 2³²
	ignTotal, slowTotal         uint64                 // up to the last tick close
	rejTotal                    [numReasons - 1]uint64 // by Reason−1 (its 8 bytes gave route.deadlines room)
	peer                        *peerState             // what was adopted from peers (sync_vectors.go); nil until something is
}

func newRoute(env *routeEnv, id string, grp *group, live *liveConfig, now int64) *route {
	r := &route{id: id, env: env, grp: grp, gi: -1}
	res := live.of(id)
	r.st = routeState{State: law.NewState(res.p, res.tp, res.sloLatencyMs, now), cfgGen: live.gen, lastEnd: now, evidenceAt: env.clock.wall(now)}
	r.st.Weight = res.weight
	r.tickEnd.Store(now + int64(env.tick))
	r.timeAll.Store(true)
	r.storeDecision(now)
	return r
}

// reject counts a rejection on stripe s and fills in d's reason and hint.
func (r *route) reject(s *counterStripe, d *Decision, why Reason) {
	s.rej[why-1].Add(1)
	d.Reason = why
	d.RetryAfter = time.Duration(r.retry.Load())
}

// sampled reports whether decision n should be timed.
func (r *route) sampled(n uint64) bool {
	return n%sampleEvery == 0 || r.timeAll.Load()
}

// takeProbe admits the one request a probe allows.
func (r *route) takeProbe() bool { return r.probe.Load() && r.probe.CompareAndSwap(true, false) }

// weyl spreads decision numbers evenly over 32 bits: a deterministic,
// evenly spread share of requests rather than a random one.
func weyl(n uint64) uint32 { return uint32((n * 0x9E3779B97F4A7C15) >> 32) }

// overLimit reports whether the limit sheds decision n of priority index
// pi, which found the route's base stripe s. It is called only while the
// route counts on its base stripe alone, where in-flight is exact.
func (r *route) overLimit(s *counterStripe, n uint64, pi int) bool {
	// this decision is counted in n, not yet in flight
	in := int64(s.inflight(n)) - 1 + r.frozen.Load() + r.untracked.Load()
	if band := r.band[pi].Load(); band != 0 && overBand(in, band, weyl(n)) {
		return true
	}
	if p := int64(s.peak.Load()); in >= p {
		s.peak.Store(uint32(min(in+1, math.MaxUint32)))
	}
	return false
}

// record counts one outcome. latency < 0 means "not timed". A Canceled
// outcome here is a slow sample: cancelled decides which cancellations are.
func (r *route) record(c Class, latency int64) {
	s := r.ctr.stripe()
	switch c {
	case Success:
		s.succ.Add(failUnit)
	case Failure:
		s.fail.Add(failUnit)
	case Canceled:
		s.slow.Add(1)
	default:
		s.ign.Add(1)
		return
	}
	if latency >= 0 {
		s.latSum.Add(latency)
		s.latN.Add(1)
	}
}

// cancelled records a request whose caller gave up after waited ns: a slow
// sample when it waited past the baseline, else ignored. sample is false
// when waited is only an estimate, which classifies it but is no latency
// sample.
func (r *route) cancelled(waited int64, sample bool) {
	if waited < r.slowNs.Load() {
		r.record(Ignored, -1)
		return
	}
	if !sample {
		waited = -1
	}
	r.record(Canceled, waited)
}

// mode is the route's mode, as the mode machine keeps it. Caller holds mu.
func (st *routeState) mode() Mode { return Mode(st.Circ.Mode) }
