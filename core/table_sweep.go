package atrion

import (
	"math"
	"runtime"
)

// The idle sweep: when a new route finds the table full, healthy routes
// idle for the idle TTL make room. It examines a bounded number of the
// table's slots per step from a cursor that resumes where the last step
// stopped, so no step holds the table's lock for long, and it never waits
// on a route's lock (a route whose lock is held is busy, not idle). A new
// route at the cap examines a few slots itself (at most once per tick); on
// the system clock a background sweep then frees some headroom, so the
// next new routes need not look.

const (
	sweepInline = 128 // slots a new route at the cap examines (sets are at most half full)
	sweepChunk  = 512 // slots the background sweep examines per hold of the lock
)

// headroom is how many free slots the background sweep makes.
func (a *Atrion) headroom() int { return max(1, a.maxRoutes/64) }

// makeRoomLocked evicts idle routes for a new one at the cap and returns
// them (for leaveGroups once the lock is released). Caller holds the
// table's lock.
func (a *Atrion) makeRoomLocked(now int64) (evicted []*route) {
	t := a.routes
	if last := a.lastSweep.Load(); last == 0 || now-last >= int64(a.tick) {
		a.lastSweep.Store(now)
		evicted, _, _ = a.sweepLocked(now, sweepInline, a.headroom(), nil)
	}
	if a.clock.kind == clockSystem && !t.sweeping && now >= t.nextSweep && !a.closed() {
		t.sweeping = true
		go a.sweepIdle()
	}
	return evicted
}

// evicted takes routes the idle sweep evicted out of their groups and
// counts them for the audit trail, once the table's lock is released.
func (a *Atrion) evicted(rs []*route) {
	leaveGroups(rs)
	a.auditEvicted("idle sweep", "idle and healthy", rs)
}

// sweepIdle is the background sweep: it examines every slot at most
// once, a chunk per hold of the table's lock, until the table has
// headroom, and notes when the next sweep could find an idle route.
func (a *Atrion) sweepIdle() {
	t := a.routes
	var evicted []*route
	examined := 0
	soonest := int64(math.MaxInt64) // when a route examined could first be idle
	for {
		select {
		case <-a.stop:
			t.mu.Lock()
			t.sweeping = false
			t.mu.Unlock()
			return
		default:
		}
		now := a.clock.now()
		t.mu.Lock()
		free, total := t.freeLocked(a.maxRoutes), slotCount(t.setsLocked())
		if free >= a.headroom() || examined >= total {
			// a fruitless pass waits until a route it saw busy could be
			// idle, or an idle TTL at most (a scarred route may heal)
			t.sweeping = false
			t.nextSweep = now + int64(a.tick)
			if free < a.headroom() {
				t.nextSweep = max(t.nextSweep, min(soonest, now+int64(a.idleTTL)))
			}
			t.mu.Unlock()
			return
		}
		var n int
		var next int64
		evicted, n, next = a.sweepLocked(now, min(sweepChunk, total-examined), a.headroom()-free, evicted[:0])
		t.mu.Unlock()
		examined += n
		soonest = min(soonest, next)
		a.evicted(evicted)
		runtime.Gosched() // the lock's waiters go first
	}
}

// sweepLocked examines up to budget slots from the cursor and evicts the
// idle ones, at most want of them, appending them to evicted. It returns
// evicted, how many routes it examined, and the soonest engine time at
// which one it found busy could be idle. Caller holds the table's lock.
func (a *Atrion) sweepLocked(now int64, budget, want int, evicted []*route) (_ []*route, examined int, soonest int64) {
	t := a.routes
	sets := t.setsLocked()
	total := slotCount(sets)
	soonest = math.MaxInt64
	for ; examined < budget && examined < total && want > 0; examined++ {
		t.sweepAt %= total
		r := slotAt(sets, t.sweepAt)
		t.sweepAt++
		if !t.live(r) || r == a.overflow {
			continue
		}
		if _, ok := t.reserved[r.id]; ok {
			continue // evicting a reserved route would free no slot
		}
		// a route's open tick ends after its last request, so none came
		// for the TTL when even that end is that old
		if at := r.tickEnd.Load() + int64(a.idleTTL); now < at {
			soonest = min(soonest, at)
			continue
		}
		if a.healthy(r) {
			t.removeLocked(r)
			a.stats.evictions.Add(1)
			evicted = append(evicted, r)
			want--
		}
	}
	return evicted, examined, soonest
}

// healthy reports whether r may be evicted once idle: no open circuit, no
// recovery under way and no scar worth keeping. A route whose lock is
// held is busy, so it is not waited for.
func (a *Atrion) healthy(r *route) bool {
	if !r.mu.TryLock() {
		return false
	}
	defer r.mu.Unlock()
	m := r.st.mode()
	return (m == ModeOperational || m == ModeBootstrap) && r.st.Scar < quietScar
}

// closed reports whether Close has begun.
func (a *Atrion) closed() bool {
	select {
	case <-a.stop:
		return true
	default:
		return false
	}
}

// slotCount is the number of slots in sets: the sweep cursor's range.
func slotCount(sets []*routeSet) (n int) {
	for _, s := range sets {
		n += len(s.slots)
	}
	return n
}

// slotAt returns the route in slot i of sets taken one after another
// (nil for an empty slot).
func slotAt(sets []*routeSet, i int) *route {
	for _, s := range sets {
		if i < len(s.slots) {
			return s.slots[i].r.Load()
		}
		i -= len(s.slots)
	}
	return nil
}
