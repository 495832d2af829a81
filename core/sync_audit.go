package atrion

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// The audit trail's records of cluster sync and eviction: a peer's vector
// adopted or refused, a route evicted. They come in floods (a peer's trip
// of a thousand routes, a sweep at the route cap), so they are counted
// where they happen and handed to the sinks as one record per kind, actor
// and reason each auditEvery (and at Flush and Close): a record for one
// vector or route names it and its evidence; a record for more says how
// many and names the first few. What happens on a request's path (an
// inline sweep) only counts; records are built and sent by the state
// manager's goroutine.

const (
	// auditEvery paces the aggregated records: at most one per kind,
	// actor and reason this often
	auditEvery = time.Second
	// auditKeys bounds the distinct kind, actor and reason triples held
	// between flushes; beyond them a peer's node ID (which a sender on
	// the channel chooses) is folded into auditOtherNodes
	auditKeys = 64
	// auditSample is how many routes a record for many names
	auditSample = 5
)

const auditOtherNodes = "(other nodes)"

// auditKey is what one aggregated record stands for.
type auditKey struct {
	kind       AuditKind
	actor, why string
}

// auditAgg is what happened under one key since the last flush.
type auditAgg struct {
	n      int
	routes []string // the first auditSample
	at     time.Time
	// the single vector's evidence, or the largest of many
	scar, r float64
	mode    Mode
}

// auditBuf collects the records between flushes.
type auditBuf struct {
	mu   sync.Mutex
	m    map[auditKey]*auditAgg
	keys []auditKey // in order of first appearance
}

// add counts one event under k: a route, its time and evidence.
func (b *auditBuf) add(k auditKey, route string, at time.Time, scar, r float64, mode Mode) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[auditKey]*auditAgg)
	}
	g := b.m[k]
	if g == nil && len(b.keys) >= auditKeys {
		k.actor = auditOtherNodes // at most one more key per kind and reason
		g = b.m[k]
	}
	if g == nil {
		g = &auditAgg{}
		b.m[k] = g
		b.keys = append(b.keys, k)
	}
	g.n++
	if len(g.routes) < auditSample {
		g.routes = append(g.routes, strings.Clone(truncate(route, 256)))
	}
	g.at = at
	if g.n == 1 || scar > g.scar {
		g.scar, g.mode = scar, mode
	}
	g.r = max(g.r, r)
}

// records returns the aggregated records and empties the buffer.
func (b *auditBuf) records() []AuditRecord {
	b.mu.Lock()
	m, keys := b.m, b.keys
	b.m, b.keys = nil, nil
	b.mu.Unlock()
	out := make([]AuditRecord, 0, len(keys))
	for _, k := range keys {
		g := m[k]
		rec := AuditRecord{Time: g.at, Kind: k.kind, Actor: k.actor, Scar: g.scar, Resistance: g.r}
		if k.kind != AuditEvicted {
			rec.To = g.mode.String()
		}
		if g.n == 1 {
			rec.Route = g.routes[0]
			rec.Detail = k.why
		} else {
			rec.Detail = fmt.Sprintf("%d %s%s; routes %s", g.n, auditNoun(k.kind), suffix(k.why), strings.Join(g.routes, ", "))
			if g.n > len(g.routes) {
				rec.Detail += ", …"
			}
		}
		out = append(out, rec)
	}
	return out
}

func auditNoun(k AuditKind) string {
	if k == AuditEvicted {
		return "routes evicted"
	}
	return "vectors"
}

func suffix(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

// auditPeer counts a peer's vector adopted (why empty) or refused.
func (a *Atrion) auditPeer(v *PhysicsVector, why string) {
	if !a.auditing() {
		return
	}
	k := auditKey{kind: AuditPeerAdopted, actor: v.NodeID, why: why}
	if why != "" {
		k.kind = AuditPeerRefused
	}
	k.actor = strings.Clone(truncate(k.actor, 256))
	a.audits.add(k, v.Route, a.Now(), v.Scar, v.Resistance, v.Mode)
}

// auditEvicted counts routes evicted by actor ("Evict", "idle sweep")
// for the reason why.
func (a *Atrion) auditEvicted(actor, why string, rs []*route) {
	if len(rs) == 0 || !a.auditing() {
		return
	}
	now := a.Now()
	for _, r := range rs {
		a.audits.add(auditKey{kind: AuditEvicted, actor: actor, why: why}, r.id, now, 0, 0, 0)
	}
}

// flushAudits hands the aggregated records to the sinks.
func (a *Atrion) flushAudits() {
	if !a.auditing() {
		return
	}
	for _, rec := range a.audits.records() {
		a.audit.send(rec)
	}
}
