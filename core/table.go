package atrion

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// table maps route IDs to routes. No lookup takes a lock or waits on one:
// a route is found in the snapshot, an immutable set of the routes as of
// its rebuild, or, while it is newer than that, in the overlay that
// collects new routes (both routeSets, read lock-free). Writers (new
// routes, evictions, reservations) hold mu for well under a millisecond;
// the snapshot is rebuilt in the background, the copy made outside the
// lock, so no call ever waits for a copy of the table. An evicted route is
// marked detached and readers skip it; it leaves the snapshot at the next
// rebuild.
type table struct {
	snap atomic.Pointer[routeSet] // never written once published
	cur  atomic.Pointer[routeSet] // the overlay: routes added since the snapshot
	// frozen are earlier overlays, full or being folded into the next
	// snapshot: routes are never copied under the lock
	frozen atomic.Pointer[[]*routeSet]
	seed   maphash.Seed

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
	// hits counts lookups served by an overlay since the snapshot: once
	// they reach hitsDue, they have paid for a copy
	hits, hitsDue atomic.Int64
	// the idle sweep (table_sweep.go): its cursor over every slot, the engine
	// time before which it would find nothing, and whether it runs
	sweepAt   int
	nextSweep int64
	sweeping  bool
}

func newTable() *table {
	t := &table{reserved: make(map[string]struct{}), seed: maphash.MakeSeed()}
	t.snap.Store(newRouteSet(0))
	t.cur.Store(newRouteSet(0))
	t.frozen.Store(&[]*routeSet{})
	t.hitsDue.Store(1024)
	return t
}

// start tracks the overflow route, before the table is shared.
func (t *table) start(overflow *route) {
	t.overflow = overflow
	t.snap.Load().insert(t.hash(OverflowRoute), overflow)
	t.n = 1
}

func (t *table) hash(id string) uint64 { return maphash.String(t.seed, id) }

// live reports whether r, found in a slot, is tracked.
func (t *table) live(r *route) bool {
	return r != nil && (!r.detached.Load() || r == t.overflow)
}

// find returns the route tracked under id (hash h) or nil, without a
// lock: the snapshot, then the overlays.
func (t *table) find(h uint64, id string) *route {
	if r := t.snap.Load().get(h, id); r != nil {
		return r
	}
	return t.recent(h, id)
}

// recent looks id (hash h) up in the overlays, newest first.
func (t *table) recent(h uint64, id string) *route {
	if r := t.cur.Load().get(h, id); r != nil {
		return r
	}
	fs := *t.frozen.Load()
	for i := len(fs) - 1; i >= 0; i-- {
		if r := fs[i].get(h, id); r != nil {
			return r
		}
	}
	return nil
}

// tracked returns the route tracked under id, or nil, never creating one.
func (t *table) tracked(id string) *route {
	h := t.hash(id)
	if r := t.find(h, id); r != nil {
		return r
	}
	if id == OverflowRoute {
		return t.overflow
	}
	// a route added a moment ago may sit in an overlay that grew after
	// this goroutine loaded it: the lock makes the answer exact
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.find(h, id)
}

// insertLocked tracks r. Caller holds mu.
func (t *table) insertLocked(r *route) {
	h := t.hash(r.id)
	if !t.cur.Load().insert(h, r) {
		t.freezeLocked()
		t.cur.Load().insert(h, r)
	}
	t.n++
	if _, ok := t.reserved[r.id]; ok {
		t.held++
	}
	t.maybeRebuildLocked()
}

// freezeLocked moves the overlay to the frozen ones and starts an empty
// one. Caller holds mu.
func (t *table) freezeLocked() {
	fs := append(slices.Clone(*t.frozen.Load()), t.cur.Load())
	t.frozen.Store(&fs)
	t.cur.Store(newRouteSet(t.dueLocked()))
}

// copyLive returns a new set holding the live routes of sets. It runs in
// the background and yields now and then, so that a request goroutine
// waiting for a CPU does not wait for the whole copy.
func (t *table) copyLive(sets []*routeSet) *routeSet {
	n := 0
	for _, s := range sets {
		n += s.n
	}
	c := newRouteSet(n)
	for _, s := range sets {
		for i := range s.slots {
			if r := s.slots[i].r.Load(); t.live(r) {
				c.insert(s.slots[i].h.Load(), r)
			}
			if i%4096 == 4095 {
				runtime.Gosched()
			}
		}
	}
	return c
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

// dueLocked is how many routes added, or detached, make a rebuild due: a
// sixteenth of the snapshot, so that copies cost O(1) per change. Caller
// holds mu.
func (t *table) dueLocked() int { return max(32, t.snap.Load().n/16) }

func (t *table) maybeRebuild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeRebuildLocked()
}

// maybeRebuildLocked starts a rebuild once enough routes were added or
// detached, or overlay lookups have paid for a copy. Caller holds mu.
func (t *table) maybeRebuildLocked() {
	due := t.dueLocked()
	if t.building || len(*t.frozen.Load()) == 0 && t.cur.Load().n < due && t.stale < due && t.hits.Load() < t.hitsDue.Load() {
		return
	}
	t.building = true
	t.freezeLocked()
	t.stale = 0
	go t.rebuild(append([]*routeSet{t.snap.Load()}, *t.frozen.Load()...))
}

// rebuild folds the frozen overlays into a new snapshot (sets: the
// snapshot and those overlays), copying outside the lock, and publishes
// it.
func (t *table) rebuild(sets []*routeSet) {
	next := t.copyLive(sets)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap.Store(next)
	fs := slices.Clone((*t.frozen.Load())[len(sets)-1:]) // frozen since
	t.frozen.Store(&fs)
	t.hits.Store(0)
	t.hitsDue.Store(int64(next.n/2 + 1024))
	t.building = false
	t.maybeRebuildLocked()
}

// setsLocked returns every set that holds routes: the snapshot, the
// frozen overlays and the overlay. Caller holds mu.
func (t *table) setsLocked() []*routeSet {
	return append(append([]*routeSet{t.snap.Load()}, *t.frozen.Load()...), t.cur.Load())
}

// snapshot returns every tracked route, each once. Only the sets are
// loaded under the lock; the copy is made outside it.
func (t *table) snapshot() []*route {
	t.mu.Lock()
	sets, n := t.setsLocked(), t.n
	t.mu.Unlock()
	out := make([]*route, 0, n)
	for _, s := range sets {
		for i := range s.slots {
			if r := s.slots[i].r.Load(); t.live(r) {
				out = append(out, r)
			}
		}
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
	t := a.routes
	h := t.hash(id)
	if r := t.snap.Load().get(h, id); r != nil {
		return r
	}
	return a.lookupSlow(id, h)
}

func (a *Atrion) lookupSlow(id string, h uint64) *route {
	t := a.routes
	if r := t.recent(h, id); r != nil {
		if t.hits.Add(1) == t.hitsDue.Load() {
			go t.maybeRebuild() // a request never waits for the lock
		}
		return r
	}
	if id == "" || len(id) > MaxRouteIDLen {
		a.stats.invalidIDs.Add(1)
		a.stats.overflowHits.Add(1)
		a.overflowed(id, true)
		return a.overflow
	}
	r, evicted := a.track(id, h)
	a.evicted(evicted)
	if r == a.overflow && id != OverflowRoute {
		a.overflowed(id, false)
	}
	return r
}

// track returns the route tracked under id, creating it if there is room
// (made by evicting idle routes when the table is full; it returns
// those), else the overflow route.
func (a *Atrion) track(id string, h uint64) (r *route, evicted []*route) {
	t := a.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	if id == OverflowRoute {
		return a.overflow, nil
	}
	if r := t.find(h, id); r != nil {
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
		if t.find(t.hash(id), id) != nil {
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
	r := t.find(t.hash(routeID), routeID)
	if r != nil {
		t.removeLocked(r)
		a.stats.evictions.Add(1)
	}
	t.mu.Unlock()
	if r == nil {
		return false
	}
	leaveGroups([]*route{r})
	a.auditEvicted("Evict", "", []*route{r})
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
