package atrion

import (
	"hash/maphash"
	"sync/atomic"
)

// overlay holds the routes added since the table's snapshot: an
// open-addressing hash set of routes keyed by their IDs, read without a
// lock (each slot is an atomic pointer, written once) and written under
// the table's lock. It never shrinks or deletes: an evicted route is
// detached and skipped, and leaves when the overlay is folded into the
// next snapshot.
type overlay struct {
	slots []atomic.Pointer[route] // a power of two, at most half full
	n     int                     // routes inserted; under the table's lock
}

// newOverlay returns an overlay with room for n routes.
func newOverlay(n int) *overlay {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &overlay{slots: make([]atomic.Pointer[route], size)}
}

// get returns the live route with id (hash h), or nil.
func (o *overlay) get(h uint64, id string) *route {
	mask := uint64(len(o.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		r := o.slots[i].Load()
		if r == nil {
			return nil
		}
		if r.id == id && !r.detached.Load() {
			return r
		}
	}
}

// insert adds r (hash h) and reports whether it fit: false once the
// overlay would be more than half full. Caller holds the table's lock.
func (o *overlay) insert(h uint64, r *route) bool {
	if 2*(o.n+1) > len(o.slots) {
		return false
	}
	mask := uint64(len(o.slots) - 1)
	i := h & mask
	for o.slots[i].Load() != nil {
		i = (i + 1) & mask
	}
	o.slots[i].Store(r)
	o.n++
	return true
}

// grown returns a copy of o twice the size, without its detached routes,
// holding r as well. Readers of o still find every route o held. Caller
// holds the table's lock.
func (o *overlay) grown(seed maphash.Seed, r *route) *overlay {
	g := newOverlay(2 * (o.n + 1))
	for i := range o.slots {
		if x := o.slots[i].Load(); x != nil && !x.detached.Load() {
			g.insert(maphash.String(seed, x.id), x)
		}
	}
	g.insert(maphash.String(seed, r.id), r)
	return g
}
