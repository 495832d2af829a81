package atrion

import (
	"fmt"
	"maps"
	"slices"
)

// Live configuration (HotPatch): Update changes the engine's defaults and
// routes' configurations while traffic flows. Everything is validated
// before anything applies; each route takes the new configuration at its
// next tick close, under its own lock, so the hot path neither locks nor
// allocates for it.

// liveConfig is a validated configuration of every route: the defaults
// and the overridden routes, with the generation routes compare theirs to.
type liveConfig struct {
	gen      uint32
	def      resolved
	perRoute map[string]resolved
	// reset: routes whose configuration this generation changes forget
	// what they learned (ResetLearned)
	reset bool
}

// of returns route id's configuration.
func (l *liveConfig) of(id string) resolved {
	if r, ok := l.perRoute[id]; ok {
		return r
	}
	return l.def
}

// buildLive validates cfg's route settings (the same checks New makes)
// into generation gen.
func buildLive(cfg *config, gen uint32) (*liveConfig, error) {
	if cfg.maxRoutes < 1 || cfg.maxRoutes > 10_000_000 {
		return nil, fieldErr("WithMaxRoutes", cfg.maxRoutes, "must be between 1 and 10,000,000")
	}
	if cfg.idleTTL <= 0 {
		return nil, fieldErr("WithIdleTTL", cfg.idleTTL, "must be > 0")
	}
	def, err := resolve("", cfg.slo, cfg.physics, cfg.tuner)
	if err != nil {
		return nil, err
	}
	l := &liveConfig{gen: gen, def: def, perRoute: make(map[string]resolved, len(cfg.routeCfg)), reset: cfg.resetLearned}
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
		prefix := fmt.Sprintf("WithRouteConfig(%q).", truncate(id, 64))
		res, err := resolve(prefix, slo, pc, tc)
		if err != nil {
			return nil, err
		}
		if w := rc.Weight; w != 0 && !(w > 0 && w <= 1000) { // NaN fails both
			return nil, fieldErr(prefix+"Weight", w, "must be in (0, 1000]")
		}
		res.weight = float32(rc.Weight)
		l.perRoute[id] = res
	}
	return l, nil
}

// ResetLearned, given to Update, makes every route whose configuration the
// update changes forget what it learned: scar, momentum, AutoTuner
// statistics, latency baseline and in-flight limit; it restarts in
// BOOTSTRAP. Without it a route keeps them across an update. In New it
// does nothing.
func ResetLearned() Option { return func(cfg *config) { cfg.resetLearned = true } }

// UpdatedBy, given to Update, names who makes the change and through which
// interface ("dashboard 10.0.0.7", "SIGHUP reload") in the audit trail;
// without it the record says "Update". In New it does nothing.
func UpdatedBy(actor string) Option { return func(cfg *config) { cfg.actor = actor } }

// Update changes the engine's configuration while it runs: WithSLO,
// WithPhysics, WithAutoTuner and WithRouteConfig (a route's SLO, physics
// and tuner), WithMaxRoutes and WithIdleTTL, with ResetLearned to make the
// changed routes start over. The options apply on top of the current
// configuration, except those of ParseConfig and LoadConfig, which
// describe the whole of it: what the file does not name returns to its
// default, and a route override it does not list is removed. A route
// given WithRouteConfig with every field nil loses its override. Every
// value is validated first, with New's field-naming
// errors, and a bad one changes nothing. Options that cannot change while
// the engine runs (WithClock, WithTick, WithProvider, WithObserver,
// WithLogger, WithSaturation, WithNodeID, WithResync, WithGroups, WithBans) are
// refused by name. Each route takes the new configuration at its next tick
// close; the hot path never waits for it. After Close it returns
// ErrClosed and changes nothing.
func (a *Atrion) Update(opts ...Option) error {
	select {
	case <-a.stop:
		return ErrClosed
	default:
	}
	var probe config
	for _, o := range opts {
		if o != nil {
			o(&probe)
		}
	}
	if name := fixedOption(&probe); name != "" {
		return fmt.Errorf("atrion: Update: %s cannot change while the engine runs", name)
	}
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	next := a.src
	next.routeCfg = maps.Clone(a.src.routeCfg)
	next.resetLearned, next.actor = false, ""
	for _, o := range opts {
		if o != nil {
			o(&next)
		}
	}
	// an empty override is no override: drop it, so that the table of
	// overrides holds only what changes a route
	maps.DeleteFunc(next.routeCfg, func(_ string, rc RouteConfig) bool { return rc == RouteConfig{} })
	live, err := buildLive(&next, a.live.Load().gen+1)
	if err != nil {
		return err
	}
	actor := next.actor
	if actor == "" {
		actor = "Update"
	}
	if a.auditing() {
		from, to := configDiff(&a.src, &next)
		a.Audit(AuditRecord{Kind: AuditConfig, Actor: truncate(actor, 256), From: from, To: to,
			Detail: resetDetail(next.resetLearned)})
	}
	next.resetLearned, next.actor = false, ""
	a.src = next
	a.routes.mu.Lock()
	a.maxRoutes, a.idleTTL = next.maxRoutes, next.idleTTL
	a.routes.mu.Unlock()
	a.live.Store(live)
	return nil
}

// fixedOption names the first option in probe that cannot change live.
func fixedOption(p *config) string {
	switch {
	case p.clock != nil:
		return "WithClock"
	case p.tick != 0:
		return "WithTick"
	case p.provider != nil:
		return "WithProvider"
	case p.bans != nil:
		return "WithBans"
	case len(p.observers) > 0:
		return "WithObserver"
	case p.logger != nil:
		return "WithLogger"
	case p.saturation != nil:
		return "WithSaturation"
	case p.nodeID != "":
		return "WithNodeID"
	case p.resync != 0:
		return "WithResync"
	case p.groupOf != nil:
		return "WithGroups"
	}
	return ""
}

// takeConfig moves the route onto the live configuration when a newer
// generation is out; with ResetLearned, a route whose configuration it
// changes forgets what it learned. Caller holds mu, at a tick close.
func (r *route) takeConfig() {
	l := r.env.live
	if l == nil {
		return
	}
	live := l.Load()
	st := &r.st
	if live.gen == st.cfgGen {
		return
	}
	st.cfgGen = live.gen
	res := live.of(r.id)
	changed := *res.p != *st.P || *res.tp != *st.TP || res.sloLatencyMs != st.SloMs
	st.P, st.TP, st.SloMs, st.Weight = res.p, res.tp, res.sloLatencyMs, res.weight
	if changed && live.reset {
		st.Forget(st.lastEnd)
	}
}

func resetDetail(reset bool) string {
	if reset {
		return "ResetLearned: the changed routes start over"
	}
	return ""
}

// ConfiguredRoutes returns the IDs of the routes with an override of their
// own (WithRouteConfig), sorted.
func (a *Atrion) ConfiguredRoutes() []string {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	return slices.Sorted(maps.Keys(a.src.routeCfg))
}

// Knows reports whether routeID is a route the engine knows: tracked,
// reserved (Reserve), or with an override of its own (WithRouteConfig).
// A control that configures routes by name accepts only these, so that an
// operator's typo or a flood of invented names cannot grow the
// configuration.
func (a *Atrion) Knows(routeID string) bool {
	if a.routes.tracked(routeID) != nil {
		return true
	}
	a.routes.mu.Lock()
	_, reserved := a.routes.reserved[routeID]
	a.routes.mu.Unlock()
	if reserved {
		return true
	}
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	_, ok := a.src.routeCfg[routeID]
	return ok
}
