package atrion

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
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
	AuditConfig      AuditKind = "config"       // Update changed the configuration (From, To: JSON of what changed)
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
	// From and To: modes for a transition; for an update, what changed
	// (JSON objects of the old and the new values of the sections and
	// route overrides that changed, at most 4 KiB of overrides each: the
	// rest are counted in "routesNotListed").
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
// queue of its own (4,096 records, and 8 MiB of them): a sink that blocks
// or panics loses its own records only (Stats.AuditDrops), never blocks
// the engine.
type AuditSink interface {
	Audit(AuditRecord)
}

// auditQueueBytes bounds what each sink's queue holds, by the records'
// size (auditRecordSize), besides their count: 4,096 records of a
// megabyte each would be 4 GiB.
const auditQueueBytes = 8 << 20

// auditRecordSize is about what r takes in memory: its fixed part and its
// strings.
func auditRecordSize(r AuditRecord) int64 {
	const fixed = 256 // the struct and the queue's slot, rounded up
	return int64(fixed + len(r.Route) + len(r.Actor) + len(r.Action) + len(r.From) + len(r.To) + len(r.Detail))
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

// maxAuditDiff bounds each side of a configuration change's record: the
// route overrides that would take it past are counted ("routesNotListed"),
// not listed, so that an update of thousands of routes is not a megabyte
// per record.
const maxAuditDiff = 4 << 10

// configDiff renders what an update changes, for an AuditConfig record:
// From holds the old values of the settings that change, To the new ones
// (a section, the route cap, the idle TTL, a route's override). A route
// override added is only in To, one removed only in From.
func configDiff(from, to *config) (fromJSON, toJSON string) {
	f, t := make(map[string]any), make(map[string]any)
	section := func(key string, a, b any) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			f[key], t[key] = json.RawMessage(ja), json.RawMessage(jb)
		}
	}
	section("slo", from.slo, to.slo)
	section("physics", from.physics, to.physics)
	section("autoTuner", from.tuner, to.tuner)
	section("maxRoutes", from.maxRoutes, to.maxRoutes)
	section("idleTTL", from.idleTTL.String(), to.idleTTL.String())
	ids := make(map[string]struct{}, len(to.routeCfg))
	for id := range from.routeCfg {
		ids[id] = struct{}{}
	}
	for id := range to.routeCfg {
		ids[id] = struct{}{}
	}
	fr, tr := make(map[string]json.RawMessage), make(map[string]json.RawMessage)
	size, unlisted := 0, 0
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		a, inA := from.routeCfg[id]
		b, inB := to.routeCfg[id]
		ja, jb := routeJSON(a, inA), routeJSON(b, inB)
		if string(ja) == string(jb) {
			continue
		}
		if size += len(id) + len(ja) + len(jb); size > maxAuditDiff {
			unlisted++
			continue
		}
		if inA {
			fr[id] = ja
		}
		if inB {
			tr[id] = jb
		}
	}
	if len(fr) > 0 {
		f["routes"] = fr
	}
	if len(tr) > 0 {
		t["routes"] = tr
	}
	if unlisted > 0 {
		f["routesNotListed"], t["routesNotListed"] = unlisted, unlisted
	}
	return marshalOrError(f), marshalOrError(t)
}

// routeJSON renders a route's override (nil when there is none).
func routeJSON(rc RouteConfig, ok bool) []byte {
	if !ok {
		return nil
	}
	b, _ := json.Marshal(struct {
		SLO       *SLO             `json:"slo,omitempty"`
		Physics   *PhysicsConfig   `json:"physics,omitempty"`
		AutoTuner *AutoTunerConfig `json:"autoTuner,omitempty"`
	}{rc.SLO, rc.Physics, rc.AutoTuner})
	return b
}

func marshalOrError(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"error":` + strconv.Quote(err.Error()) + `}`
	}
	return string(b)
}
