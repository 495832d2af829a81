package atrion

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// table maps route IDs to routes. No lookup takes a lock or waits on one:
// a route is found in an immutable map (the snapshot) or, while it is
// newer than the snapshot, in a small lock-free overlay (overlay.go).
// Writers (new routes, evictions, reservations) take mu for a few
// hundred nanoseconds at most; the snapshot is rebuilt in the background
// with the copy made outside the lock, so no call ever waits for a copy
// of the table. An evicted route is marked detached and readers skip it;
// it leaves the snapshot at the next rebuild.
type table struct {
	snap atomic.Pointer[tableSnap]
	cur  atomic.Pointer[overlay] // routes added since the snapshot
	old  atomic.Pointer[overlay] // the overlay being folded into the next snapshot
	seed maphash.Seed

	overflow *route // tracked, but detached so that Handles never keep it

	mu sync.Mutex
	n  int // routes tracked, the overflow route included
	// reserved holds the route IDs with a slot of their own (Reserve),
	// held how many of them are tracked now
	reserved map[string]struct{}
	held     int
	// building: a rebuild is running; stale counts the routes detached
	// since the snapshot was taken, which the next rebuild drops
	building bool
	stale    int
	sweepAt  int // the sweep's cursor over list(): resumes where it stopped
	// hits counts lookups served by an overlay since the snapshot: once
	// they reach hitsDue, they have paid for a copy
	hits, hitsDue atomic.Int64
	// nextSweep is the engine time before which the background sweep
	// would find nothing (sweep.go); sweeping: it runs
	nextSweep int64
	sweeping  bool
}

// tableSnap is the table as of its last rebuild: a map for lookups, a list
// for the sweep's cursor. Never modified once published.
type tableSnap struct {
	m    map[string]*route
	list []*route
}

func newTable() *table {
	t := &table{reserved: make(map[string]struct{}), seed: maphash.MakeSeed()}
	t.snap.Store(&tableSnap{m: map[string]*route{}})
	t.cur.Store(newOverlay(0))
	t.hitsDue.Store(1024)
	return t
}

// start tracks the overflow route, before the table is shared.
func (t *table) start(overflow *route) {
	t.overflow = overflow
	t.snap.Store(&tableSnap{m: map[string]*route{OverflowRoute: overflow}, list: []*route{overflow}})
	t.n = 1
}

// live reports whether r, found under its ID, is tracked.
func (t *table) live(r *route) bool {
	return r != nil && (!r.detached.Load() || r == t.overflow)
}

// load is the lock-free fast path: the snapshot alone.
func (t *table) load(id string) *route {
	if r := t.snap.Load().m[id]; r != nil && !r.detached.Load() {
		return r
	}
	return nil
}

// recent looks id up in the overlays, without a lock.
func (t *table) recent(id string) *route {
	h := maphash.String(t.seed, id)
	if r := t.cur.Load().get(h, id); r != nil {
		return r
	}
	if o := t.old.Load(); o != nil {
		return o.get(h, id)
	}
	return nil
}

// tracked returns the route tracked under id, or nil, never creating one.
func (t *table) tracked(id string) *route {
	if r := t.load(id); r != nil {
		return r
	}
	if r := t.recent(id); r != nil {
		return r
	}
	if id == OverflowRoute {
		return t.overflow
	}
	// a route added a moment ago may sit in an overlay that grew after
	// this goroutine loaded it: the lock makes the answer exact
	t.mu.Lock()
	defer t.mu.Unlock()
	return cmp.Or(t.load(id), t.recent(id))
}

// insertLocked tracks r. Caller holds mu.
func (t *table) insertLocked(r *route) {
	if o := t.cur.Load(); !o.insert(maphash.String(t.seed, r.id), r) {
		t.cur.Store(o.grown(t.seed, r))
	}
	t.n++
	if _, ok := t.reserved[r.id]; ok {
		t.held++
	}
	t.maybeRebuildLocked()
}

// removeLocked stops tracking r. The caller holds mu, and takes r out
// of its group once it has released mu (leaveGroups): a group's lock is
// never waited for under the table's.
func (t *table) removeLocked(r *route) {
	r.detached.Store(true)
	t.n--
	t.stale++
	if _, ok := t.reserved[r.id]; ok {
		t.held--
	}
	t.maybeRebuildLocked()
}

// leaveGroups takes evicted routes out of their groups.
func leaveGroups(rs []*route) {
	for _, r := range rs {
		if r.grp != nil {
			r.grp.leave(r)
		}
	}
}

// fullLocked reports whether a route without a reserved slot must go to
// the overflow route: the unreserved routes tracked and the reserved
// slots (tracked or not) fill the cap. The overflow route does not count.
// Caller holds mu.
func (t *table) fullLocked(maxRoutes int) bool { return t.freeLocked(maxRoutes) <= 0 }

// freeLocked is how many more unreserved routes fit. Caller holds mu.
func (t *table) freeLocked(maxRoutes int) int {
	return maxRoutes - (t.n - 1 - t.held + len(t.reserved))
}

// maybeRebuildLocked starts a rebuild once the overlay holds a
// sixteenth of the snapshot, as many routes detached, or overlay lookups
// have paid for a copy. Caller holds mu.
func (t *table) maybeRebuildLocked() {
	if t.building {
		return
	}
	due := t.dueLocked()
	if t.cur.Load().n < due && t.stale < due && t.hits.Load() < t.hitsDue.Load() {
		return
	}
	t.building = true
	t.old.Store(t.cur.Load())
	t.cur.Store(newOverlay(due))
	t.stale = 0
	go t.rebuild()
}

// rebuild folds the frozen overlay into a new snapshot, copying outside
// the lock, and publishes it.
func (t *table) rebuild() {
	prev, old := t.snap.Load(), t.old.Load()
	m := make(map[string]*route, len(prev.m)+old.n)
	list := make([]*route, 0, len(prev.m)+old.n)
	keep := func(r *route) {
		if t.live(r) {
			m[r.id] = r
			list = append(list, r)
		}
	}
	for _, r := range prev.list {
		keep(r)
	}
	for i := range old.slots {
		keep(old.slots[i].Load())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap.Store(&tableSnap{m: m, list: list})
	t.old.Store(nil)
	t.hits.Store(0)
	t.hitsDue.Store(int64(len(m)/2 + 1024))
	t.building = false
	t.maybeRebuildLocked()
}

// dueLocked is how many routes added, or detached, make a rebuild due: a
// sixteenth of the snapshot, so the copies cost O(1) per change. Caller
// holds mu.
func (t *table) dueLocked() int { return max(32, len(t.snap.Load().m)/16) }

// snapshot returns every tracked route, each once. Only the pointers are
// read under the lock; the copy is made outside it.
func (t *table) snapshot() []*route {
	t.mu.Lock()
	s, old, cur, n := t.snap.Load(), t.old.Load(), t.cur.Load(), t.n
	t.mu.Unlock()
	out := make([]*route, 0, n)
	for _, r := range s.list {
		if t.live(r) {
			out = append(out, r)
		}
	}
	for _, o := range []*overlay{old, cur} {
		if o == nil {
			continue
		}
		for i := range o.slots {
			if r := o.slots[i].Load(); t.live(r) {
				out = append(out, r)
			}
		}
	}
	return out
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
	t := a.routes
	if r := t.recent(id); r != nil {
		if t.hits.Add(1) == t.hitsDue.Load() {
			t.mu.Lock()
			t.maybeRebuildLocked()
			t.mu.Unlock()
		}
		return r
	}
	if id == "" || len(id) > MaxRouteIDLen {
		a.stats.invalidIDs.Add(1)
		a.stats.overflowHits.Add(1)
		return a.overflow
	}
	r, evicted := a.track(id)
	leaveGroups(evicted)
	return r
}

// track returns the route tracked under id, creating it if there is room
// (made by evicting idle routes when the table is full; it returns
// those), else the overflow route.
func (a *Atrion) track(id string) (r *route, evicted []*route) {
	t := a.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	if id == OverflowRoute {
		return a.overflow, nil
	}
	if r := cmp.Or(t.load(id), t.recent(id)); r != nil {
		return r, nil
	}
	now := a.clock.now()
	// a reserved route always gets its slot: the overflow route, which
	// junk may have opened, never blocks it
	_, reserved := t.reserved[id]
	if !reserved && t.fullLocked(a.maxRoutes) {
		evicted = a.makeRoomLocked(now)
		if t.fullLocked(a.maxRoutes) {
			a.stats.overflowHits.Add(1)
			return a.overflow, evicted
		}
	}
	r = a.newRoute(strings.Clone(id), now)
	t.insertLocked(r)
	return r, evicted
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
		if cmp.Or(t.load(id), t.recent(id)) != nil {
			t.held++
		}
	}
	return nil
}

// Evict stops tracking a route and forgets its state. It reports whether
// the route was tracked. The overflow route cannot be evicted.
func (a *Atrion) Evict(routeID string) bool {
	if routeID == OverflowRoute {
		return false
	}
	t := a.routes
	t.mu.Lock()
	r := cmp.Or(t.load(routeID), t.recent(routeID))
	if r != nil {
		t.removeLocked(r)
		a.stats.evictions.Add(1)
	}
	t.mu.Unlock()
	if r == nil {
		return false
	}
	leaveGroups([]*route{r})
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
