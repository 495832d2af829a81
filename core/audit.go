package atrion

import (
	"encoding/json"
	"time"
)

// The audit trail: one record for each event that changes what the engine
// decides, for the operator who must later say why a route shed, who
// changed what, and what a peer's state did here.

// AuditKind says what an AuditRecord reports.
type AuditKind string

// Audit record kinds.
const (
	AuditTransition  AuditKind = "transition"   // a route changed mode (From, To, with the evidence)
	AuditConfig      AuditKind = "config"       // Update changed the configuration (From, To: JSON)
	AuditControl     AuditKind = "control"      // an operator acted through a control (a dashboard's evict, say)
	AuditPeerAdopted AuditKind = "peer_adopted" // a peer's vector was merged into a route
	AuditPeerRefused AuditKind = "peer_refused" // a peer's vector was refused (out of bounds, from the future)
	AuditEvicted     AuditKind = "evicted"      // a route's state was forgotten
)

// AuditRecord is one decision-changing event.
type AuditRecord struct {
	Time  time.Time `json:"time"`
	Kind  AuditKind `json:"kind"`
	Route string    `json:"route,omitempty"`
	// Actor is who or what acted: "engine", "Update", a peer's node ID, or
	// what a control names ("dashboard 10.0.0.7").
	Actor  string `json:"actor"`
	Action string `json:"action,omitempty"` // for controls: what was done
	// From and To: modes for a transition, configurations (JSON) for an
	// update.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// the evidence, for transitions and peers' vectors
	Resistance float64 `json:"r,omitempty"`
	Scar       float64 `json:"scar,omitempty"`
	ErrorRate  float64 `json:"errorRate,omitempty"`
	ErrorBound float64 `json:"errorBound,omitempty"`
	Limit      float64 `json:"limit,omitempty"`
	InFlight   float64 `json:"inflight,omitempty"`
	Detail     string  `json:"detail,omitempty"`
}

// AuditSink receives audit records, each from a goroutine and a bounded
// queue of its own (4,096 records): a sink that blocks or panics loses
// its own records only (Stats.AuditDrops), never blocks the engine.
type AuditSink interface {
	Audit(AuditRecord)
}

// AuditFunc adapts a function to AuditSink.
type AuditFunc func(AuditRecord)

// Audit calls f(r).
func (f AuditFunc) Audit(r AuditRecord) { f(r) }

// WithAudit adds an audit sink (see AuditSink; package sink has ready-made ones: a rotating file, slog).
func WithAudit(s AuditSink) Option {
	return func(cfg *config) { cfg.audits = append(cfg.audits, s) }
}

// Audit records r in the audit trail, for components that act on the
// engine on someone's behalf (an operator's control, say). A zero Time is
// now; an empty Actor is "unknown".
func (a *Atrion) Audit(r AuditRecord) {
	if r.Time.IsZero() {
		r.Time = a.Now()
	}
	if r.Actor == "" {
		r.Actor = "unknown"
	}
	a.audit.send(r)
}

// auditing reports whether any sink listens, so that callers skip
// building records nobody reads.
func (a *Atrion) auditing() bool { return len(a.audit.subs) > 0 }

// auditTransition is the record of a route's mode change, with its
// evidence, from the transition's event.
func (r *route) auditTransition(ev *Event) AuditRecord {
	return AuditRecord{Time: ev.Time, Kind: AuditTransition, Route: r.id, Actor: "engine",
		From: ev.From.String(), To: ev.To.String(), Resistance: ev.Resistance, Scar: ev.Scar,
		ErrorRate: ev.ErrorRate, ErrorBound: ev.ErrorBound, Limit: ev.Limit, InFlight: ev.InFlight}
}

// configJSON renders cfg's live settings for an AuditConfig record.
func configJSON(cfg *config) string {
	type route struct {
		SLO       *SLO             `json:"slo,omitempty"`
		Physics   *PhysicsConfig   `json:"physics,omitempty"`
		AutoTuner *AutoTunerConfig `json:"autoTuner,omitempty"`
	}
	v := struct {
		SLO       SLO              `json:"slo"`
		Physics   PhysicsConfig    `json:"physics"`
		AutoTuner AutoTunerConfig  `json:"autoTuner"`
		Routes    map[string]route `json:"routes,omitempty"`
		MaxRoutes int              `json:"maxRoutes"`
		IdleTTL   string           `json:"idleTTL"`
	}{SLO: cfg.slo, Physics: cfg.physics, AutoTuner: cfg.tuner, MaxRoutes: cfg.maxRoutes, IdleTTL: cfg.idleTTL.String()}
	if len(cfg.routeCfg) > 0 {
		v.Routes = make(map[string]route, len(cfg.routeCfg))
		for id, rc := range cfg.routeCfg {
			v.Routes[id] = route{rc.SLO, rc.Physics, rc.AutoTuner}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return `{"error":"` + err.Error() + `"}`
	}
	return string(b)
}
