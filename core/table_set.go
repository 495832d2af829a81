package atrion

import "sync/atomic"

// routeSet is an open-addressing hash set of routes keyed by their IDs:
// read without a lock (each slot is an atomic pointer, written once) and
// written under the table's lock. It never deletes: an evicted route is
// detached, and readers skip it. The table's snapshot is a routeSet that
// is never written once published; its overlay is one that grows.
type routeSet struct {
	slots []slot // a power of two, at most half full
	n     int    // routes inserted; under the table's lock
}

// slot holds a route and its ID's hash: a probe compares hashes and
// dereferences only the route that matches, so a lookup in a table too
// big for the cache misses it about once, not once per probe. h is
// written before r and read after it, so a reader that sees r sees h.
type slot struct {
	h atomic.Uint64
	r atomic.Pointer[route]
}

// newRouteSet returns a set with room for n routes.
func newRouteSet(n int) *routeSet {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &routeSet{slots: make([]slot, size)}
}

// get returns the live route with id (hash h), or nil.
func (s *routeSet) get(h uint64, id string) *route {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		r := sl.r.Load()
		if r == nil {
			return nil
		}
		if sl.h.Load() == h && r.id == id && !r.detached.Load() {
			return r
		}
	}
}

// insert adds r (hash h) and reports whether it fit: false once the set
// would be more than half full. Caller holds the table's lock.
func (s *routeSet) insert(h uint64, r *route) bool {
	if 2*(s.n+1) > len(s.slots) {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for s.slots[i].r.Load() != nil {
		i = (i + 1) & mask
	}
	s.slots[i].h.Store(h)
	s.slots[i].r.Store(r)
	s.n++
	return true
}
