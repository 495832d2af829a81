package atrion

import "sync/atomic"

// routeSet is an open-addressing hash set of routes keyed by their IDs:
// read without a lock (each slot is an atomic pointer, written once) and
// written under the table's lock. It never deletes: an evicted route is
// detached, and readers skip it. The table's snapshot is a routeSet that
// is never written once published; its overlay is one that grows.
type routeSet struct {
	slots []atomic.Pointer[route] // a power of two, at most half full
	n     int                     // routes inserted; under the table's lock
}

// newRouteSet returns a set with room for n routes.
func newRouteSet(n int) *routeSet {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &routeSet{slots: make([]atomic.Pointer[route], size)}
}

// get returns the live route with id (hash h), or nil.
func (s *routeSet) get(h uint64, id string) *route {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		r := s.slots[i].Load()
		if r == nil {
			return nil
		}
		if r.id == id && !r.detached.Load() {
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
	for s.slots[i].Load() != nil {
		i = (i + 1) & mask
	}
	s.slots[i].Store(r)
	s.n++
	return true
}
