package atrion

import (
	"context"
	"errors"
	"fmt"
	"github.com/atrion-go/atrion/core/internal/law"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
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

	// live is the configuration routes take at their next tick close;
	// src the settings it was built from, for Update (under cfgMu)
	live      atomic.Pointer[liveConfig]
	cfgMu     sync.Mutex
	src       config
	groupOf   func(routeID string) string
	groupMu   sync.Mutex
	groups    map[string]*group
	routes    *table
	overflow  *route
	lastSweep atomic.Int64

	obs    *dispatcher
	audit  *fanout[AuditRecord]
	audits auditBuf // sync and eviction records, aggregated (sync_audit.go)
	syncer *syncer
	env    *routeEnv // what every route shares
	bans   *banList  // client keys' bans (ban_list.go); banSync shares them
	bsync  *banSync

	stop      chan struct{}
	clockDone chan struct{}
	closeOnce sync.Once

	stats  engineCounters
	misuse misuseLog
}

// resolved is a validated route configuration.
type resolved struct {
	p            *law.Params
	tp           *law.TunerParams
	sloLatencyMs float64
	weight       float32 // RouteConfig.Weight; 0: 1
}

// New returns an engine configured by opts. Defaults: system clock,
// 100 ms ticks, AutoTuner on, in-memory state, 10,000 routes. It validates
// every value and returns an error naming the first bad field.
func New(opts ...Option) (*Atrion, error) {
	cfg := config{tick: defaultTick, maxRoutes: defaultMaxRoutes, idleTTL: defaultIdleTTL, resync: 10 * time.Second}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.tick < time.Millisecond || cfg.tick > time.Minute {
		return nil, fieldErr("WithTick", cfg.tick, "must be between 1ms and 1m")
	}
	if cfg.resync <= 0 {
		return nil, fieldErr("WithResync", cfg.resync, "must be > 0")
	}
	if len(cfg.nodeID) > MaxRouteIDLen {
		return nil, fieldErr("WithNodeID", len(cfg.nodeID), "must be at most 1024 bytes")
	}
	if err := checkSinks(&cfg); err != nil {
		return nil, err
	}
	live, err := buildLive(&cfg, 0)
	if err != nil {
		return nil, err
	}
	banCfg, err := resolveBans(cfg.bans, cfg.tick)
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
		src:        cfg,
		groupOf:    cfg.groupOf,
		groups:     map[string]*group{},
		routes:     newTable(),
		stop:       make(chan struct{}),
	}
	a.live.Store(live)
	if a.logger == nil {
		a.logger = slog.Default()
	}
	a.misuse.logger = a.logger
	if a.nodeID == "" {
		// the random suffix makes two engines in one process, or two
		// containers sharing a hostname and PID, two nodes: apply skips
		// vectors carrying its own node ID
		host, _ := os.Hostname()
		a.nodeID = fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
	}
	a.clock = newEngineClock(cfg.clock)
	a.env = &routeEnv{clock: a.clock, tick: a.tick, nodeID: a.nodeID, saturation: a.saturation,
		stats: &a.stats, emit: a.emit, enqueue: func(r *route) { a.syncer.enqueue(r) }, live: &a.live, misuse: &a.misuse, keyWeight: cfg.keyWeight}
	if a.clock.kind == clockSystem {
		res := min(max(a.tick/20, time.Millisecond), 5*time.Millisecond)
		a.clockDone = make(chan struct{})
		go a.clock.run(res, a.stop, a.clockDone)
	}
	a.obs = newDispatcher(a, cfg.observers)
	audits := make([]func(AuditRecord), len(cfg.audits))
	for i, s := range cfg.audits {
		audits[i] = s.Audit
	}
	a.audit = newFanout(a, "audit sink", audits, &a.stats.auditDrops, &a.stats.auditPanics)
	a.audit.size, a.audit.maxBytes = auditRecordSize, auditQueueBytes
	if len(audits) > 0 {
		a.env.audit = a.audit.send
	}
	provider := cfg.provider
	if provider == nil {
		provider = NewInMemoryProvider(0)
	}
	a.syncer = newSyncer(a, provider, cfg.resync)
	a.bans = newBanList(banCfg, a.clock, a.tick, a.nodeID)
	a.env.bans = a.bans
	a.bans.audit = a.env.audit
	if bs, ok := provider.(BanSharer); ok {
		a.bsync = startBanSync(a, bs, cfg.resync)
	}
	now := a.clock.now()
	a.overflow = newRoute(a.env, OverflowRoute, nil, live, now) // shares no budget
	a.overflow.detached.Store(true)
	a.routes.start(a.overflow)
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
		err = errors.Join(a.closeBans(ctx), a.syncer.close(ctx), a.obs.close(ctx), a.audit.close(ctx))
	})
	return err
}

// Flush waits until every event emitted so far has reached the observers
// and the state changed so far has been handed to the provider.
func (a *Atrion) Flush(ctx context.Context) error {
	return errors.Join(a.syncer.flush(ctx), a.obs.flush(ctx), a.audit.flush(ctx))
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
