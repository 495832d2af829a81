package atrion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Atrion is the engine: it tracks routes, decides admissions and runs the
// physics once per route tick. It is safe for concurrent use. Create it
// with New and stop its background work with Close.
type Atrion struct {
	clock      *engineClock
	tick       time.Duration
	maxRoutes  int
	idleTTL    time.Duration
	nodeID     string
	logger     *slog.Logger
	saturation func() float64

	def       resolved
	perRoute  map[string]resolved
	groupOf   func(routeID string) string
	groupMu   sync.Mutex
	groups    map[string]*group
	routes    *table
	overflow  *route
	lastSweep atomic.Int64

	obs   *dispatcher
	state *stateManager
	env   *routeEnv // what every route shares

	stop      chan struct{}
	clockDone chan struct{}
	closeOnce sync.Once

	stats engineCounters
}

// resolved is a validated route configuration.
type resolved struct {
	p            *params
	tp           *tunerParams
	sloLatencyMs float64
}

type engineCounters struct {
	overflowHits, invalidIDs, evictions atomic.Uint64
	invalidInputs                       atomic.Uint64
	observerPanics, observerDrops       atomic.Uint64
	providerErrors, peerUpdates         atomic.Uint64
	badPeerUpdates, peerDrops           atomic.Uint64
	refusedPeerUpdates, repeatedDones   atomic.Uint64
}

// Stats are the engine's own counters, for observability.
type Stats struct {
	Routes         int    // tracked routes, the overflow route included
	Reserved       int    // route IDs with a reserved slot (Reserve), tracked or not
	OverflowHits   uint64 // route lookups that fell into the overflow route
	InvalidIDs     uint64 // empty or over-long route IDs (counted in OverflowHits too)
	Evictions      uint64 // idle routes evicted to make room
	InvalidInputs  uint64 // telemetry clamped or dropped (NaN, ±Inf, out of range)
	ObserverPanics uint64 // observer calls that panicked (recovered)
	ObserverDrops  uint64 // events dropped because observers fell behind (all observers)
	ProviderErrors uint64 // failed or timed-out provider calls
	PeerUpdates    uint64 // peers' vectors merged into local state
	BadPeerUpdates uint64 // peers' vectors rejected as garbage
	PeerDrops      uint64 // peers' vectors dropped because the inbound queue was full
	// RefusedPeerUpdates counts well-formed peers' vectors refused as
	// impossible: scar, momentum or R beyond the route's physical maximum,
	// or a time further ahead of the local clock than MaxPeerClockSkew.
	RefusedPeerUpdates uint64
	// RepeatedDones counts Ticket.Done and DoneLatency calls on a ticket
	// already settled: ignored, since one request has one outcome.
	RepeatedDones uint64
	// Observers are each observer's own counters, in WithObserver order.
	Observers []ObserverStats
}

// New returns an engine configured by opts. Defaults: system clock,
// 100 ms ticks, AutoTuner on, in-memory state, 10,000 routes. It validates
// every value and returns an error naming the first bad field.
func New(opts ...Option) (*Atrion, error) {
	cfg := config{tick: defaultTick, maxRoutes: defaultMaxRoutes, idleTTL: 10 * time.Minute, resync: 10 * time.Second}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.tick < time.Millisecond || cfg.tick > time.Minute {
		return nil, fieldErr("WithTick", cfg.tick, "must be between 1ms and 1m")
	}
	if cfg.maxRoutes < 1 || cfg.maxRoutes > 10_000_000 {
		return nil, fieldErr("WithMaxRoutes", cfg.maxRoutes, "must be between 1 and 10,000,000")
	}
	if cfg.idleTTL <= 0 {
		return nil, fieldErr("WithIdleTTL", cfg.idleTTL, "must be > 0")
	}
	if cfg.resync <= 0 {
		return nil, fieldErr("WithResync", cfg.resync, "must be > 0")
	}
	if len(cfg.nodeID) > MaxRouteIDLen {
		return nil, fieldErr("WithNodeID", len(cfg.nodeID), "must be at most 1024 bytes")
	}
	def, err := resolve("", cfg.slo, cfg.physics, cfg.tuner)
	if err != nil {
		return nil, err
	}
	a := &Atrion{
		tick:       cfg.tick,
		maxRoutes:  cfg.maxRoutes,
		idleTTL:    cfg.idleTTL,
		nodeID:     cfg.nodeID,
		logger:     cfg.logger,
		saturation: cfg.saturation,
		def:        def,
		perRoute:   make(map[string]resolved, len(cfg.routeCfg)),
		groupOf:    cfg.groupOf,
		groups:     map[string]*group{},
		routes:     newTable(),
		stop:       make(chan struct{}),
	}
	for id, rc := range cfg.routeCfg {
		slo, pc, tc := cfg.slo, cfg.physics, cfg.tuner
		if rc.SLO != nil {
			slo = *rc.SLO
		}
		if rc.Physics != nil {
			pc = *rc.Physics
		}
		if rc.AutoTuner != nil {
			tc = *rc.AutoTuner
		}
		res, err := resolve(fmt.Sprintf("WithRouteConfig(%q).", truncate(id, 64)), slo, pc, tc)
		if err != nil {
			return nil, err
		}
		a.perRoute[id] = res
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.nodeID == "" {
		// the random suffix makes two engines in one process, or two
		// containers sharing a hostname and PID, two nodes: apply skips
		// vectors carrying its own node ID
		host, _ := os.Hostname()
		a.nodeID = fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
	}
	a.clock = newEngineClock(cfg.clock)
	a.env = &routeEnv{clock: a.clock, tick: a.tick, nodeID: a.nodeID, saturation: a.saturation,
		stats: &a.stats, emit: a.emit, enqueue: func(r *route) { a.state.enqueue(r) }}
	if a.clock.kind == clockSystem {
		res := min(max(a.tick/20, time.Millisecond), 5*time.Millisecond)
		a.clockDone = make(chan struct{})
		go a.clock.run(res, a.stop, a.clockDone)
	}
	a.obs = newDispatcher(a, cfg.observers)
	provider := cfg.provider
	if provider == nil {
		provider = NewInMemoryProvider(0)
	}
	a.state = newStateManager(a, provider, cfg.resync)
	now := a.clock.now()
	a.overflow = newRoute(a.env, OverflowRoute, nil, a.def.p, a.def.tp, a.def.sloLatencyMs, now) // shares no budget
	a.overflow.detached.Store(true)
	a.routes.mu.Lock()
	a.routes.all[OverflowRoute] = a.overflow
	a.routes.refreshLocked()
	a.routes.mu.Unlock()
	return a, nil
}

func resolve(prefix string, slo SLO, pc PhysicsConfig, tc AutoTunerConfig) (resolved, error) {
	p, err := resolvePhysics(prefix, pc, slo)
	if err != nil {
		return resolved{}, err
	}
	tp, err := resolveTuner(prefix, tc)
	if err != nil {
		return resolved{}, err
	}
	return resolved{p: &p, tp: &tp, sloLatencyMs: float64(slo.BaselineLatency) / 1e6}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (a *Atrion) newRoute(id string, now int64) *route {
	res, ok := a.perRoute[id]
	if !ok {
		res = a.def
	}
	return newRoute(a.env, id, a.group(id), res.p, res.tp, res.sloLatencyMs, now)
}

// group returns the shared budget of route id (WithGroups), or nil.
func (a *Atrion) group(id string) *group {
	name := defaultGroup
	if a.groupOf != nil {
		name = a.groupOf(id)
	}
	if name == "" {
		return nil
	}
	a.groupMu.Lock()
	defer a.groupMu.Unlock()
	g := a.groups[name]
	if g == nil {
		g = &group{}
		a.groups[strings.Clone(name)] = g
	}
	return g
}

// lookup returns the route for id, creating it if needed; invalid IDs and
// routes beyond the cap share the overflow route.
func (a *Atrion) lookup(id string) *route {
	if r := a.routes.load(id); r != nil {
		return r
	}
	return a.lookupSlow(id)
}

func (a *Atrion) lookupSlow(id string) *route {
	if id == "" || len(id) > MaxRouteIDLen {
		a.stats.invalidIDs.Add(1)
		a.stats.overflowHits.Add(1)
		return a.overflow
	}
	t := a.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.all[id]; ok {
		t.missLocked()
		return r
	}
	now := a.clock.now()
	// a reserved route always gets its slot: the overflow route, which
	// junk may have opened, never blocks it
	_, reserved := t.reserved[id]
	if !reserved && t.fullLocked(a.maxRoutes) {
		a.evictIdleLocked(now)
	}
	if !reserved && t.fullLocked(a.maxRoutes) {
		a.stats.overflowHits.Add(1)
		t.missLocked()
		return a.overflow
	}
	r := a.newRoute(strings.Clone(id), now)
	t.all[r.id] = r
	if reserved {
		t.held++
	}
	t.missLocked()
	return r
}

// Reserve gives each route ID a slot of its own: it is tracked on its
// first request however full the table is, never falls into the overflow
// route (whose circuit failing junk IDs may have opened), and is never
// evicted for being idle. Reserved slots count against WithMaxRoutes, so
// unreserved routes share what is left. Adapters reserve the routes of
// their framework's route table (templates the router matched, an echo or
// fiber app's routes, a gRPC server's registered methods); applications
// may reserve their own IDs, e.g. ones a WithRouteID option makes.
// Reserving an ID again is a no-op. It returns an error, reserving none of
// the IDs from the first bad one on, for an empty, over-long or overflow
// route ID, or when the reservations would exceed WithMaxRoutes.
func (a *Atrion) Reserve(routeIDs ...string) error {
	t := a.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range routeIDs {
		if id == "" || len(id) > MaxRouteIDLen || id == OverflowRoute {
			return fmt.Errorf("atrion: Reserve(%q): a route ID must be 1 to %d bytes and not the overflow route", truncate(id, 64), MaxRouteIDLen)
		}
		if _, ok := t.reserved[id]; ok {
			continue
		}
		if len(t.reserved) >= a.maxRoutes {
			return fmt.Errorf("atrion: Reserve(%q): %d routes reserved already, WithMaxRoutes(%d)", truncate(id, 64), len(t.reserved), a.maxRoutes)
		}
		id = strings.Clone(id)
		t.reserved[id] = struct{}{}
		if _, ok := t.all[id]; ok {
			t.held++
		}
	}
	return nil
}

// evictIdleLocked drops healthy routes idle for the idle TTL, at most once
// per tick. Caller holds the table lock.
func (a *Atrion) evictIdleLocked(now int64) {
	last := a.lastSweep.Load()
	if now-last < int64(a.tick) && last != 0 {
		return
	}
	a.lastSweep.Store(now)
	evicted := 0
	for id, r := range a.routes.all {
		if _, ok := a.routes.reserved[id]; ok || r == a.overflow {
			continue // evicting a reserved route would free no slot
		}
		// a route's open tick ends after its last request, so no request
		// came for the TTL when even that end is that old
		r.mu.Lock()
		idle := now-r.tickEnd.Load() >= int64(a.idleTTL) &&
			(r.st.circ.mode == ModeOperational || r.st.circ.mode == ModeBootstrap) && r.st.scar < 0.5
		r.mu.Unlock()
		if idle {
			a.routes.removeLocked(id)
			r.detached.Store(true)
			evicted++
			if r.grp != nil {
				r.grp.leave(r)
			}
		}
	}
	if evicted > 0 {
		a.stats.evictions.Add(uint64(evicted))
		a.routes.refreshLocked()
	}
}

// Evict stops tracking a route and forgets its state. It reports whether
// the route was tracked. The overflow route cannot be evicted.
func (a *Atrion) Evict(routeID string) bool {
	if routeID == OverflowRoute {
		return false
	}
	t := a.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.all[routeID]
	if !ok {
		return false
	}
	t.removeLocked(routeID)
	r.detached.Store(true)
	t.refreshLocked()
	a.stats.evictions.Add(1)
	if r.grp != nil {
		r.grp.leave(r)
	}
	return true
}

// Ticket is an admitted request's handle; call Done once when the request
// finishes. A ticket settles once: Done (or DoneLatency) records the
// outcome and marks the ticket settled, and later calls on it are no-ops,
// counted in Stats.RepeatedDones. Keep one Ticket per request: a copy made
// before Done does not know its original settled. The zero Ticket
// (returned with a rejection) is valid and its Done does nothing. A Ticket
// is not safe for concurrent use.
type Ticket struct {
	r *route
	// start is engine ns + 1 when timed; when not, −(coarse engine ns + 1),
	// which only tells a cancellation how long its caller waited; 0 once
	// settled
	start int64
}

// Admit decides whether a request on routeID may proceed. When
// d.Allowed, finish the request with t.Done; when not, reject it and pass
// d.RetryAfter on. It does not allocate and never blocks on I/O.
func (a *Atrion) Admit(routeID string, p Priority) (t Ticket, d Decision) {
	a.admit(a.lookup(routeID), p, &t, &d)
	return t, d
}

// admit decides on a request on r into *t and *d, which must be zero: one
// atomic add and a few loads. It fills them field by field through
// pointers: returning a Decision would block-copy it (see
// benchmarks/hotpath/README.md).
func (a *Atrion) admit(r *route, p Priority, t *Ticket, d *Decision) {
	coarse := a.clock.coarseNow()
	r.maybeSettle(coarse)
	// the decision's number, which spreads graded shedding and picks the
	// requests to time, counts per stripe: each stripe's numbers are a
	// sequence of their own, evenly spread all the same
	s := r.ctr.stripe()
	n := s.seq.Add(1)
	m := Mode(r.mode.Load())
	d.Mode = m
	d.Resistance = math.Float64frombits(r.rBits.Load())
	pi := p.index()
	switch m {
	case ModeCircuitOpen:
		if !r.takeProbe() {
			r.reject(s, d, ReasonCircuitOpen)
			return
		}
	case ModeRecovering:
		// a ramp, not a flood; its first rejection of a tick goes through,
		// so a quiet route still gets evidence
		if th := r.rampTh[pi].Load(); th != 0 && weyl(n) < th && !r.takeProbe() {
			r.reject(s, d, ReasonRecovering)
			return
		}
	}
	// the in-flight limit, where in-flight is exact (counters.go)
	if m != ModeCircuitOpen && s == &r.ctr.base && r.overLimit(s, n, pi) {
		r.reject(s, d, ReasonShed)
		return
	}
	d.Allowed = true
	t.r = r
	if r.sampled(n) {
		t.start = a.clock.now() + 1
	} else {
		t.start = -coarse - 1
	}
}

// Done records the request's outcome; latency is measured since Admit.
// Unknown classes count as Ignored. Only the first call on a ticket
// counts.
func (t *Ticket) Done(c Class) {
	// small enough to inline: the caller's ticket is marked settled in
	// place, and the outcome goes to the route in registers
	start := t.start
	t.start = 0
	if t.r != nil {
		t.r.done(start, c)
	}
}

// done records the outcome of a ticket admitted at start (Ticket.start;
// 0: already settled).
func (r *route) done(start int64, c Class) {
	if start == 0 {
		r.env.stats.repeatedDones.Add(1)
		return
	}
	if c > Canceled {
		c = Ignored
	}
	clk := r.env.clock
	lat := int64(-1)
	if start > 0 && c != Ignored {
		lat = max(0, clk.now()-(start-1))
	}
	// close any tick that has ended first: the outcome is evidence about now
	coarse := clk.coarseNow()
	r.maybeSettle(coarse)
	if c != Canceled {
		r.record(c, lat)
		return
	}
	if lat >= 0 {
		r.cancelled(lat, true)
	} else {
		r.cancelled(coarse-(-start-1), false)
	}
}

// DoneLatency records the request's outcome with a latency the caller
// measured, for work whose duration is not its latency (a stream's time to
// first response, say). Negative or absurd latencies are clamped and
// counted as invalid input. Like Done, it settles the ticket once.
func (t *Ticket) DoneLatency(c Class, latency time.Duration) {
	r := t.r
	if r == nil {
		return
	}
	if t.start == 0 {
		r.env.stats.repeatedDones.Add(1)
		return
	}
	t.start = 0
	if c > Canceled {
		c = Ignored
	}
	lat := int64(-1)
	if c != Ignored {
		lat = r.clampLatency(latency)
	}
	r.maybeSettle(r.env.clock.coarseNow())
	if c == Canceled {
		r.cancelled(lat, true)
		return
	}
	r.record(c, lat)
}

// Route returns the route ID this ticket belongs to ("" for the zero Ticket).
func (t *Ticket) Route() string {
	if t.r == nil {
		return ""
	}
	return t.r.id
}

// CanAccept reports whether a normal-priority request on routeID would be
// admitted now (the v1 guard API). It counts as a decision; report the
// request's outcome with ReportOutcome.
func (a *Atrion) CanAccept(routeID string) bool {
	var t Ticket
	var d Decision
	r := a.lookup(routeID)
	a.admit(r, PriorityNormal, &t, &d)
	if d.Allowed {
		r.untracked.Add(-1) // no Ticket will ever finish it
	}
	return d.Allowed
}

// maxLatency bounds a reported latency; longer ones are clamped and counted.
const maxLatency = time.Hour

// ReportOutcome records one request's telemetry on routeID (the v1 API).
// Negative or absurd latencies and saturation outside [0, 1] are clamped,
// NaN saturation is dropped; all of them are counted as invalid input.
func (a *Atrion) ReportOutcome(routeID string, o Outcome) {
	r := a.lookup(routeID)
	r.maybeSettle(a.clock.coarseNow())
	lat := r.clampLatency(o.Latency)
	c := Success
	if o.IsError {
		c = Failure
	}
	r.record(c, lat)
	r.untracked.Add(1) // an outcome without a Ticket
	r.reported.Store(true)
	r.recordSaturation(o.Saturation)
}

func (r *route) clampLatency(l time.Duration) int64 {
	if l < 0 {
		r.invalids.Add(1)
		return 0
	}
	if l > maxLatency {
		r.invalids.Add(1)
		return int64(maxLatency)
	}
	return int64(l)
}

// DefaultVoltage is the voltage Route uses when given 0 (or a non-finite or
// negative value).
const DefaultVoltage = 100

// Route applies telemetry to routeID, then decides with a voltage (the v2
// API): the request flows while the route's circuit is closed and its
// voltage beats the resistance. A voltage ≤ 0 or non-finite means
// DefaultVoltage.
func (a *Atrion) Route(routeID string, t Telemetry, voltage float64) Decision {
	r := a.lookup(routeID)
	r.maybeSettle(a.clock.coarseNow())
	lat := r.clampLatency(t.Latency)
	e := t.ErrorRate
	if !finite(e) || e < 0 || e > 1 {
		r.invalids.Add(1)
		if math.IsNaN(e) {
			e = 0
		}
		e = math.Min(1, math.Max(0, e))
	}
	// one sample, weighing 1, of which e is failure
	fu := uint64(math.Round(e * failUnit))
	s := r.ctr.stripe()
	if fu > 0 {
		s.fail.Add(fu)
	}
	if fu < failUnit {
		s.succ.Add(failUnit - fu)
	}
	s.latSum.Add(lat)
	s.latN.Add(1)
	r.reported.Store(true)
	r.recordSaturation(t.Saturation)
	if !finite(voltage) || voltage <= 0 {
		voltage = DefaultVoltage
	}
	var tk Ticket
	var d Decision
	a.admit(r, PriorityNormal, &tk, &d)
	if d.Allowed && d.Mode != ModeBootstrap && voltage < d.Resistance {
		d.Allowed = false
		r.reject(r.ctr.stripe(), &d, ReasonVoltage)
	}
	if !d.Allowed {
		r.untracked.Add(1) // the outcome above came without an admission
	}
	return d
}

// Close stops the engine's background work: it flushes state to the
// provider and drains the observers, waiting at most until ctx is done.
// Admission keeps working after Close (locally, without observers).
func (a *Atrion) Close(ctx context.Context) error {
	var err error
	a.closeOnce.Do(func() {
		close(a.stop)
		if a.clockDone != nil {
			<-a.clockDone
		}
		err = errors.Join(a.state.close(ctx), a.obs.close(ctx))
	})
	return err
}

// Flush waits until every event emitted so far has reached the observers
// and the state changed so far has been handed to the provider.
func (a *Atrion) Flush(ctx context.Context) error {
	return errors.Join(a.state.flush(ctx), a.obs.flush(ctx))
}

// Routes returns the tracked route IDs in sorted order, the overflow route
// included.
func (a *Atrion) Routes() []string {
	rs := a.routes.snapshot()
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	slices.Sort(ids)
	return ids
}

// Stats returns the engine's own counters.
func (a *Atrion) Stats() Stats {
	a.routes.mu.Lock()
	n, reserved := len(a.routes.all), len(a.routes.reserved)
	a.routes.mu.Unlock()
	return Stats{
		Routes:         n,
		Reserved:       reserved,
		OverflowHits:   a.stats.overflowHits.Load(),
		InvalidIDs:     a.stats.invalidIDs.Load(),
		Evictions:      a.stats.evictions.Load(),
		InvalidInputs:  a.stats.invalidInputs.Load() + a.routeInvalids(),
		ObserverPanics: a.stats.observerPanics.Load(),
		ObserverDrops:  a.stats.observerDrops.Load(),
		ProviderErrors: a.stats.providerErrors.Load(),
		PeerUpdates:    a.stats.peerUpdates.Load(),
		BadPeerUpdates: a.stats.badPeerUpdates.Load(),
		PeerDrops:      a.stats.peerDrops.Load(),

		RefusedPeerUpdates: a.stats.refusedPeerUpdates.Load(),
		RepeatedDones:      a.stats.repeatedDones.Load(),
		Observers:          a.obs.stats(),
	}
}

func (a *Atrion) routeInvalids() (n uint64) {
	for _, r := range a.routes.snapshot() {
		n += r.invalids.Load()
	}
	return n
}

// Tick returns the engine's tick length.
func (a *Atrion) Tick() time.Duration { return a.tick }

// NodeID returns this instance's node ID in shared state.
func (a *Atrion) NodeID() string { return a.nodeID }

// Now returns the engine clock's time.
func (a *Atrion) Now() time.Time { return a.clock.wall(a.clock.now()) }

// readSaturation reads the WithSaturation source once; a panic, NaN or
// ±Inf is no reading and values outside [0, 1] clamp, all counted.
func (e *routeEnv) readSaturation(f func() float64) (s float64) {
	defer func() {
		if recover() != nil {
			e.stats.invalidInputs.Add(1)
			s = math.NaN()
		}
	}()
	s = f()
	if math.IsNaN(s) || math.IsInf(s, 0) {
		e.stats.invalidInputs.Add(1)
		return math.NaN()
	}
	if s < 0 || s > 1 {
		e.stats.invalidInputs.Add(1)
		s = math.Min(1, math.Max(0, s))
	}
	return s
}
