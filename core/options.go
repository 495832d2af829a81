package atrion

import (
	"log/slog"
	"time"
)

// Option configures an Atrion engine in New.
type Option func(*config)

type config struct {
	clock      Clock
	tick       time.Duration
	maxRoutes  int
	slo        SLO
	physics    PhysicsConfig
	tuner      AutoTunerConfig
	provider   StateProvider
	routeCfg   map[string]RouteConfig
	observers  []Observer
	audits     []AuditSink
	logger     *slog.Logger
	saturation func() float64
	nodeID     string
	idleTTL    time.Duration
	resync     time.Duration
	groupOf    func(routeID string) string
	keyWeight  func(key string) float64 // WithKeyWeight
	bans       *BanConfig               // WithBans (ban_list.go)
	// resetLearned: ResetLearned was given; actor: UpdatedBy (Update)
	resetLearned bool
	actor        string
}

// WithClock sets the clock (default: the system's monotonic clock). Use a
// ManualClock in tests and simulations.
func WithClock(c Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithTick sets the tick: outcomes are aggregated per route per tick and
// the physics runs once per tick (default 100 ms; 1 ms to 1 min).
func WithTick(d time.Duration) Option { return func(cfg *config) { cfg.tick = d } }

// WithMaxRoutes caps the number of tracked routes (default 10,000). Routes
// beyond the cap share the overflow route; idle healthy routes are evicted
// to make room.
func WithMaxRoutes(n int) Option { return func(cfg *config) { cfg.maxRoutes = n } }

// WithSLO sets the baselines for every route (see SLO).
func WithSLO(s SLO) Option { return func(cfg *config) { cfg.slo = s } }

// WithPhysics sets the physics parameters for every route.
func WithPhysics(p PhysicsConfig) Option { return func(cfg *config) { cfg.physics = p } }

// WithAutoTuner configures the per-route AutoTuner (default: on).
func WithAutoTuner(t AutoTunerConfig) Option { return func(cfg *config) { cfg.tuner = t } }

// WithProvider sets where route state is shared (default: an
// InMemoryProvider). The engine never waits on it in a request.
func WithProvider(p StateProvider) Option { return func(cfg *config) { cfg.provider = p } }

// WithRouteConfig overrides the SLO, physics or tuner of one route. It is
// the route's whole override: given again (in Update), it replaces the
// last one, and a RouteConfig with every field nil removes it.
func WithRouteConfig(routeID string, rc RouteConfig) Option {
	return func(cfg *config) {
		if cfg.routeCfg == nil {
			cfg.routeCfg = make(map[string]RouteConfig)
		}
		cfg.routeCfg[routeID] = rc
	}
}

// WithObserver adds an observer; it is called per route tick and per mode
// transition, never per request, from a background goroutine.
func WithObserver(o Observer) Option {
	return func(cfg *config) { cfg.observers = append(cfg.observers, o) }
}

// WithLogger sets the logger for the engine's own problems (a failing
// provider, a panicking observer), logged at a bounded rate. Default:
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.logger = l } }

// WithSaturation sets a source of saturation (0..1, e.g. in-flight over
// capacity, or CPU use), read once per route tick. Without it, saturation
// comes from ReportOutcome and Route, and is otherwise neutral.
func WithSaturation(f func() float64) Option { return func(cfg *config) { cfg.saturation = f } }

// WithNodeID names this instance in shared state (default: host-pid-
// random, unique per engine). Every engine sharing state needs its own:
// an engine ignores vectors that carry its node ID.
func WithNodeID(id string) Option { return func(cfg *config) { cfg.nodeID = id } }

// WithIdleTTL sets how long a healthy route must be idle before it may be
// evicted when the route cap is reached (default 10 minutes).
func WithIdleTTL(d time.Duration) Option { return func(cfg *config) { cfg.idleTTL = d } }

// WithResync sets how often the engine reads peers' state back from the
// provider in full, besides any subscription (default 10 s; at least 10 ms).
func WithResync(d time.Duration) Option { return func(cfg *config) { cfg.resync = d } }

// WithKeyWeight sets each client key's weight in its route's key shares
// (AdmitKey, ReasonKeyShare): while a route's limit binds, its keys share
// it by weighted max-min fairness, so a key of weight 2 (a tenant on a
// bigger plan) gets twice the share of a key of weight 1 when both want
// more than their shares. f is called at a tick close when a key first
// takes a slot of its own in a route's key table, never per request, and
// its answer is kept while the key holds the slot. NaN, ±Inf, zero and
// negative weights count as 1, the rest is held to [0.001, 1000], and a
// panic counts as 1. Keys outside the table (more than 16 heavy keys on
// one route) and requests without a valid key weigh 1 each. Default: every
// key weighs 1.
func WithKeyWeight(f func(key string) float64) Option {
	return func(cfg *config) { cfg.keyWeight = f }
}

// defaultGroup holds every route when WithGroups is not given.
const defaultGroup = "*"

// WithGroups sets which routes share a bottleneck: routes for which f
// returns the same name are one group. While the calls they have in
// flight queue behind each other (a pool of workers, a connection pool, a
// dependency), the group's capacity, learned in seats (calls per second ×
// each call's own service time, by Little's law), is divided among them
// by weighted max-min fair share: a route whose demand is within its
// share is not shed and is not cut for the shared queue's latency, and a
// route over its share is shed down to it, the newest growth first.
// Shares are work-conserving: what one route leaves, the others borrow,
// and give back when it returns. A route's own slowness still cuts its
// own limit. An empty name leaves a route on its own. f is called once
// per route, when it is first tracked.
//
// By default (no WithGroups) every route of the engine is in one group:
// the routes of one service share its workers, its CPU and usually its
// pool, and routes that share no bottleneck are not held to shares (the
// group binds only while every active member shows the shared queue).
// An engine that also guards outgoing calls (a client-side Transport or
// gRPC client interceptor) should give those routes a group per
// dependency (its host or target), so that they do not share a budget
// with the server's routes.
func WithGroups(f func(routeID string) (group string)) Option {
	return func(cfg *config) { cfg.groupOf = f }
}
