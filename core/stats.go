package atrion

import (
	"sync/atomic"
)

// The engine's own counters.

type engineCounters struct {
	overflowHits, invalidIDs, evictions atomic.Uint64
	invalidInputs                       atomic.Uint64
	observerPanics, observerDrops       atomic.Uint64
	providerErrors, peerUpdates         atomic.Uint64
	badPeerUpdates, peerDrops           atomic.Uint64
	refusedPeerUpdates, repeatedDones   atomic.Uint64
	auditDrops, auditPanics             atomic.Uint64
	leakedTickets                       atomic.Uint64
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
	// LeakedTickets counts admitted requests found in flight far past
	// their route's latency (50 baselines, at least 2 s): Tickets never
	// settled, or handlers that never return. Each is counted once, when
	// first found, and logged through WithLogger at most once a minute.
	LeakedTickets uint64
	// Observers are each observer's own counters, in WithObserver order.
	Observers []ObserverStats
	// AuditDrops counts audit records dropped because a sink fell behind
	// (its queue held 4,096 records or 8 MiB),
	// AuditPanics sink calls that panicked; AuditSinks has each sink's own
	// counters, in WithAudit order.
	AuditDrops, AuditPanics uint64
	AuditSinks              []ObserverStats
	// Bans are the ban list's counters (BanStats).
	Bans BanStats
}

// Stats returns the engine's own counters.
func (a *Atrion) Stats() Stats {
	a.routes.mu.Lock()
	n, reserved := a.routes.n, len(a.routes.reserved)
	a.routes.mu.Unlock()
	return Stats{
		Routes:         n,
		Reserved:       reserved,
		OverflowHits:   a.stats.overflowHits.Load(),
		InvalidIDs:     a.stats.invalidIDs.Load(),
		Evictions:      a.stats.evictions.Load(),
		InvalidInputs:  a.stats.invalidInputs.Load(),
		ObserverPanics: a.stats.observerPanics.Load(),
		ObserverDrops:  a.stats.observerDrops.Load(),
		ProviderErrors: a.stats.providerErrors.Load(),
		PeerUpdates:    a.stats.peerUpdates.Load(),
		BadPeerUpdates: a.stats.badPeerUpdates.Load(),
		PeerDrops:      a.stats.peerDrops.Load(),

		RefusedPeerUpdates: a.stats.refusedPeerUpdates.Load(),
		RepeatedDones:      a.stats.repeatedDones.Load(),
		LeakedTickets:      a.stats.leakedTickets.Load(),
		Observers:          a.obs.stats(),
		AuditDrops:         a.stats.auditDrops.Load(),
		AuditPanics:        a.stats.auditPanics.Load(),
		AuditSinks:         a.audit.stats(),
		Bans:               a.BanStats(),
	}
}
