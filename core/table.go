package atrion

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// table maps route IDs to routes. Reads are lock-free on an immutable
// snapshot; misses go to the authoritative map under a lock, and the
// snapshot is rebuilt once misses have paid for the copy (the old
// sync.Map's scheme, without boxing the string key).
type table struct {
	read   atomic.Pointer[map[string]*route]
	mu     sync.Mutex
	all    map[string]*route
	misses int
	// reserved holds the route IDs with a slot of their own (Reserve),
	// held how many of them are tracked now; both under mu
	reserved map[string]struct{}
	held     int
}

func newTable() *table {
	t := &table{all: make(map[string]*route), reserved: make(map[string]struct{})}
	empty := map[string]*route{}
	t.read.Store(&empty)
	return t
}

// load is the lock-free fast path.
func (t *table) load(id string) *route { return (*t.read.Load())[id] }

// tracked returns the route tracked under id, or nil, never creating one:
// the lock-free snapshot first, then the table itself, for a route so new
// that the snapshot does not hold it yet.
func (t *table) tracked(id string) *route {
	if r := t.load(id); r != nil {
		return r
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.all[id]
}

// missLocked counts a miss and refreshes the snapshot when due. Caller holds mu.
func (t *table) missLocked() {
	t.misses++
	if t.misses > len(t.all)/2+8 {
		t.refreshLocked()
	}
}

func (t *table) refreshLocked() {
	snap := maps.Clone(t.all)
	if snap == nil {
		snap = map[string]*route{}
	}
	t.read.Store(&snap)
	t.misses = 0
}

// fullLocked reports whether a route without a reserved slot must go to
// the overflow route: the unreserved routes tracked and the reserved
// slots (tracked or not) fill the cap. The overflow route does not count.
// Caller holds mu.
func (t *table) fullLocked(maxRoutes int) bool {
	return len(t.all)-1-t.held+len(t.reserved) >= maxRoutes
}

// removeLocked stops tracking id. Caller holds mu.
func (t *table) removeLocked(id string) {
	delete(t.all, id)
	if _, ok := t.reserved[id]; ok {
		t.held--
	}
}

// snapshot returns every route.
func (t *table) snapshot() []*route {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*route, 0, len(t.all))
	for _, r := range t.all {
		out = append(out, r)
	}
	return out
}

func (a *Atrion) newRoute(id string, now int64) *route {
	return newRoute(a.env, id, a.group(id), a.live.Load(), now)
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
