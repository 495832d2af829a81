package atrion

import (
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atrion-go/atrion/core/internal/law"
)

// Client keys' shares of a route (issue 28): while a route's limit binds,
// the keys its requests carry (AdmitKey) share the limit by weighted
// max-min fairness (waterFill, share_fill.go), and a key over its share
// is refused (ReasonKeyShare) instead of every key being shed alike. A big
// tenant is held to its share, never banned for its volume; a small one
// within its share is served.
//
// Memory is bounded per route: a table of keySlots keys with a share of
// their own, one "others" share for every valid key outside the table
// (weighted by how many distinct keys it holds), and one "unjudged" share
// for requests with no key or an invalid one (weight 1, so that traffic
// without a usable key cannot crowd a keyed tenant out). A key enters the
// table by taking a free slot when one of its requests arrives, so the
// heaviest keys, which arrive most often, take the slots the tick close
// frees (fill: the lightest slot, one a tick, while the others hold keys
// about as heavy).

// keySlots is the table's size; keyProbe the slots looked at from a key's
// home slot.
const (
	keySlots = 16
	keyProbe = 4
	// the shares beyond the table's slots
	othersCell   = keySlots
	unjudgedCell = keySlots + 1
	keyCells     = keySlots + 2
	// keyQuietTicks: ticks without the route shedding or a key being
	// refused before the shares switch off (2 s at the default tick)
	keyQuietTicks = 20
	// keyRateSec smooths each share's offered rate; keyMaxWeight bounds
	// WithKeyWeight's answers (1/keyMaxWeight to keyMaxWeight)
	keyRateSec   = 0.5
	keyMaxWeight = 1000
)

// keyCell is one share as the hot path sees it: its calls in flight, the
// requests it was offered in the tick, and its in-flight band per
// priority (bands; 0: not capped).
type keyCell struct {
	inflight atomic.Int32
	arrivals atomic.Uint32
	// pass is the share of a key's requests over its share that may pass,
	// in 1/2³²ths (thinning: a key 10 % over its share loses about 10 % of
	// its requests, where a cap on a few calls in flight would refuse far
	// more of a bursty stream); critical requests are not thinned
	pass atomic.Uint32
	// within: the share's demand is within its fair share, so that its
	// requests are not shed by the route's limit below the band critical
	// requests reach (its own band still bounds it)
	within atomic.Bool
	band   [5]atomic.Uint64
}

// keySlot is a table slot's key and what the tick close learns of it,
// under keyShares.mu.
type keySlot struct {
	key    string
	weight float64 // WithKeyWeight's answer, clamped; 0: not asked yet
	rate   float64 // requests offered per second, smoothed; −1: claimed in this tick
	// fresh: claimed in the last tick, whose rate counts part of a tick:
	// not yet served ahead of the route's shedding
	fresh bool
}

// keyShares is a route's key table and its shares, allocated when a keyed
// request is first shed on the route (route.keys).
type keyShares struct {
	on       atomic.Bool   // the shares are in force
	free     atomic.Int32  // empty slots a key outside the table may take
	rejected atomic.Uint64 // requests refused for their key's share, ever
	seed     maphash.Seed
	hash     [keySlots]atomic.Uint64 // the slot's key's hash | 1; 0: empty
	cells    [keyCells]keyCell
	// seen counts the others' distinct keys in the tick (linear counting)
	seen [4]atomic.Uint64

	mu    sync.Mutex // slots; taken by claims (TryLock) and the tick close
	slots [keySlots]keySlot

	// the tick close's own, under the route's mu
	others, unjudged float64 // offered per second, smoothed
	othersKeys       float64 // distinct keys in the others' share, smoothed
	latMs            float64 // the route's latency, smoothed; 0: none yet
	lastRej          uint64
	quiet, turn      int
	demand, weight   [keyCells]float64
	out              [keyCells]float64
	order            [keyCells]int
}

func newKeyShares() *keyShares {
	ks := &keyShares{seed: maphash.MakeSeed()}
	ks.free.Store(keySlots)
	for i := range ks.cells {
		ks.cells[i].pass.Store(math.MaxUint32)
	}
	return ks
}

// cell returns the share a request with key counts in: its slot's, the
// others' or the unjudged one's. A valid key outside the table takes a
// free slot if it finds one (the tick close frees them).
func (ks *keyShares) cell(key string) *keyCell {
	if key == "" {
		return &ks.cells[unjudgedCell]
	}
	h := maphash.String(ks.seed, key) | 1
	home := int(h % keySlots)
	for i := range keyProbe {
		if ks.hash[(home+i)%keySlots].Load() == h {
			return &ks.cells[(home+i)%keySlots]
		}
	}
	if !ValidClientKey(key) {
		return &ks.cells[unjudgedCell]
	}
	if ks.free.Load() > 0 {
		if i := ks.claim(key, h, home); i >= 0 {
			return &ks.cells[i]
		}
	}
	ks.seen[h>>62].Or(1 << (h >> 56 & 63))
	return &ks.cells[othersCell]
}

// claim gives key (hash h) a free slot near home and returns it, or −1.
// It never waits: a claim that finds the lock taken leaves the key with
// the others for now.
func (ks *keyShares) claim(key string, h uint64, home int) int {
	if !ks.mu.TryLock() {
		return -1
	}
	defer ks.mu.Unlock()
	at := -1
	for i := range keyProbe {
		j := (home + i) % keySlots
		switch ks.hash[j].Load() {
		case h:
			return j // claimed meanwhile
		case 0:
			if at < 0 {
				at = j
			}
		}
	}
	if at < 0 {
		return -1
	}
	// the request's string may pin a larger buffer; a claim is rare
	ks.slots[at] = keySlot{key: strings.Clone(key), rate: -1}
	c := &ks.cells[at]
	c.within.Store(false)
	c.pass.Store(math.MaxUint32)
	for p := range c.band { // a newcomer starts with an others' key's share
		c.band[p].Store(ks.cells[othersCell].band[p].Load())
	}
	ks.hash[at].Store(h)
	ks.free.Add(-1)
	return at
}

// admit decides a keyed request on a route's key shares, which are on:
// the share it counts in, and whether its key is over its share, which
// refuses it.
func (ks *keyShares) admit(key string, pi int) (c *keyCell, refused bool) {
	c = ks.cell(key)
	h := weyl(uint64(c.arrivals.Add(1)))
	if band := c.band[pi].Load(); band != 0 && (pi > 0 && h > c.pass.Load() || overBand(int64(c.inflight.Load()), band, h)) {
		ks.rejected.Add(1)
		return nil, true
	}
	return c, false
}

// keyShareRejections is the requests refused for their key's share so
// far (0 without key shares).
func (r *route) keyShareRejections() uint64 {
	if ks := r.keys.Load(); ks != nil {
		return ks.rejected.Load()
	}
	return 0
}

// fillKeyShares runs once per data tick, after the control law: it learns
// each share's demand, switches the shares on while the route sheds or
// refuses, divides the limit in force among them, and frees the slot of a
// key lighter than the others' average. shed is the tick's requests the
// route's limit shed, refused those its key shares refused. Caller holds
// the route's mu.
func (r *route) fillKeyShares(t *law.Tick, shed, refused uint64) {
	ks := r.keys.Load()
	if ks == nil {
		return
	}
	dt := t.Dt.Seconds()
	if dt <= 0 {
		return
	}
	if l := t.Tel.LatencyMs; l > 0 && !math.IsInf(l, 0) {
		if ks.latMs == 0 {
			ks.latMs = l
		}
		ks.latMs += (1 - math.Exp(-dt/keyRateSec)) * (l - ks.latMs)
	}
	if shed > 0 || refused > 0 {
		ks.quiet = 0
	} else {
		ks.quiet++
	}
	on := ks.quiet < keyQuietTicks
	ks.learnRates(dt)
	if !on || ks.latMs == 0 {
		ks.on.Store(on)
		for i := range ks.cells {
			ks.cells[i].setCap(0, 1, false)
		}
		return
	}
	ks.fill(r.limit(), r.env.keyWeight)
	ks.on.Store(true)
}

// learnRates takes each share's arrivals of the tick into its smoothed
// rate, and the others' distinct keys into theirs.
func (ks *keyShares) learnRates(dt float64) {
	a := 1 - math.Exp(-dt/keyRateSec)
	ks.mu.Lock()
	for i := range ks.slots {
		s := &ks.slots[i]
		x := float64(ks.cells[i].arrivals.Swap(0)) / dt
		switch {
		case ks.hash[i].Load() == 0:
			s.rate = 0
		case s.rate < 0: // claimed in this tick: its first rate as measured
			s.rate, s.fresh = x, true
		default:
			s.rate += a * (x - s.rate)
			s.fresh = false
		}
	}
	ks.mu.Unlock()
	ks.others += a * (float64(ks.cells[othersCell].arrivals.Swap(0))/dt - ks.others)
	ks.unjudged += a * (float64(ks.cells[unjudgedCell].arrivals.Swap(0))/dt - ks.unjudged)
	zeros := 0
	for i := range ks.seen {
		zeros += 64 - bits.OnesCount64(ks.seen[i].Swap(0))
	}
	n := 256 * math.Log(256/math.Max(float64(zeros), 0.5)) // linear counting
	ks.othersKeys += a * (n - ks.othersKeys)
}

// fill divides limit among the shares and publishes each one's band; it
// frees at most one slot, the lightest, when its key sends less than twice
// an average key of the others: a heavy key hidden among many light ones
// barely moves their average, so slots of keys about as light as the
// others turn over, one a tick, giving every key outside the table a
// chance in proportion to its rate.
func (ks *keyShares) fill(limit float64, weightOf func(string) float64) {
	// what normal-priority requests may fill without the route shedding
	// them: its normal band's lower edge
	capacity := limit * PriorityNormal.Share()
	perCall := ks.latMs / 1000
	ks.mu.Lock()
	lightest := -1
	ks.turn++
	for j := range ks.slots {
		// from a slot that turns each tick: among keys alike, every slot
		// turns over in its turn, not the first one again and again
		i := (j + ks.turn) % keySlots
		s := &ks.slots[i]
		if ks.hash[i].Load() == 0 {
			ks.demand[i], ks.weight[i] = 0, 1
			continue
		}
		if s.weight == 0 {
			s.weight = 1
			if weightOf != nil {
				s.weight = clampKeyWeight(callKeyWeight(weightOf, s.key))
			}
		}
		ks.demand[i], ks.weight[i] = s.rate*perCall, s.weight
		if lightest < 0 || s.rate < ks.slots[lightest].rate {
			lightest = i
		}
	}
	ks.demand[othersCell], ks.weight[othersCell] = ks.others*perCall, math.Max(1, ks.othersKeys)
	ks.demand[unjudgedCell], ks.weight[unjudgedCell] = ks.unjudged*perCall, 1
	waterFill(capacity, ks.demand[:], ks.weight[:], ks.out[:], ks.order[:])
	// a share within its fair share passes whole, capped in flight at its
	// level (what an equal key over its share gets) or its bursts (burst);
	// a share over it passes the part of its requests its fill is of its
	// demand (thinning), capped in flight at its fill's bursts
	level, wsum, over := capacity, 0.0, false
	for i := range ks.cells {
		if ks.demand[i] > 0 && ks.out[i] < ks.demand[i]*0.999 {
			level, over = math.Min(level, ks.out[i]/ks.weight[i]), true
		}
		if ks.demand[i] > 0 {
			wsum += ks.weight[i]
		}
	}
	if !over && wsum > 0 {
		level = capacity / wsum
	}
	for i := range ks.cells {
		d, w := ks.demand[i], ks.weight[i]
		switch {
		case d <= 0:
			ks.cells[i].setCap(level*w, 1, i < keySlots)
		case ks.out[i] >= d*0.999:
			// only a key of its own is served ahead of the route's shedding:
			// the others' share may hide a heavy key among light ones
			ks.cells[i].setCap(math.Max(d, level*w)+burst(d), 1, i < keySlots && !ks.slots[i].fresh)
		default:
			ks.cells[i].setCap(ks.out[i]+burst(ks.out[i]), ks.out[i]/d, false)
		}
	}
	// a free slot may be out of the others' reach (a key probes keyProbe
	// slots), so a free slot is no reason to keep a light key
	if lightest >= 0 && ks.others > 0 &&
		ks.slots[lightest].rate < 2*ks.others/math.Max(1, ks.othersKeys) {
		ks.hash[lightest].Store(0)
		ks.slots[lightest] = keySlot{}
		ks.free.Add(1)
	}
	for i := range ks.slots { // keys gone quiet leave their slots
		if ks.hash[i].Load() != 0 && ks.slots[i].rate >= 0 && ks.slots[i].rate < 0.1 {
			ks.hash[i].Store(0)
			ks.slots[i] = keySlot{}
			ks.free.Add(1)
		}
	}
	ks.mu.Unlock()
}

// setCap publishes a share: capCalls calls in flight for normal priority
// (0: not capped), the other priorities reaching as far past it as they
// reach past a route's limit, and the share pass of its requests that
// pass (1: all).
func (c *keyCell) setCap(capCalls, pass float64, within bool) {
	c.within.Store(within)
	c.pass.Store(uint32(math.Min(math.MaxUint32, math.Max(0, pass*math.MaxUint32))))
	if capCalls <= 0 || math.IsNaN(capCalls) {
		for p := range c.band {
			c.band[p].Store(0)
		}
		return
	}
	for p, b := range bands(capCalls/PriorityNormal.Share(), 0) {
		c.band[p].Store(b)
	}
}

// clampKeyWeight makes a hook's weight safe: NaN, ±Inf and ≤ 0 count as
// 1; the rest is held to [1/keyMaxWeight, keyMaxWeight].
func clampKeyWeight(w float64) float64 {
	if !(w > 0) || math.IsInf(w, 0) {
		return 1
	}
	return math.Min(keyMaxWeight, math.Max(1.0/keyMaxWeight, w))
}

// callKeyWeight asks the hook for key's weight; a hook that panics gives 1.
func callKeyWeight(f func(string) float64, key string) (w float64) {
	defer func() {
		if recover() != nil {
			w = 1
		}
	}()
	return f(key)
}
