package atrion

import (
	"maps"
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
