package atrion

import (
	"strings"
	"sync/atomic"
)

// Handle is a route looked up once: admitting through it skips the route
// table's lookup by ID, which is most of what Admit costs beyond the
// decision itself. Adapters keep one per route template of their router;
// applications can keep one per call site. A Handle stays valid whatever
// happens to its route: if the route is evicted (or its ID fell into the
// overflow route because the table was full), the next Admit looks the ID
// up again. It is safe for concurrent use.
type Handle struct {
	a  *Atrion
	id string
	r  atomic.Pointer[route]
}

// Handle returns a handle on routeID. Creating one does not track the
// route; its first Admit does, as Admit(routeID, p) would.
func (a *Atrion) Handle(routeID string) *Handle {
	return &Handle{a: a, id: strings.Clone(routeID)}
}

// ID returns the handle's route ID.
func (h *Handle) ID() string { return h.id }

// Admit is a.Admit(h.ID(), p) without the lookup.
func (h *Handle) Admit(p Priority) (t Ticket, d Decision) {
	r := h.r.Load()
	if r == nil || r.detached.Load() {
		r = h.a.lookup(h.id)
		h.r.Store(r)
	}
	h.a.admit(r, p, false, &t, &d)
	return t, d
}
