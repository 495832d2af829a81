package atrion

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A route's per-request counters are striped, the way a LongAdder is: on a
// busy route each request adds to one of several cache lines, picked from
// the calling goroutine's stack address, so that cores serving one hot
// route do not all fight over one line. A quiet route keeps one stripe (of
// the 100,000 routes an engine may track, few are hot) and gets the others
// when a tick of it was busy; ticks close on the sums. Which stripe a count
// lands in does not change a sum, so Admit and Done pick theirs
// independently.

// counterStripe is one cache line of counters.
type counterStripe struct {
	seq    atomic.Uint64 // decisions (admitted + rejected)
	succ   atomic.Uint64 // in failUnit
	fail   atomic.Uint64 // in failUnit
	latSum atomic.Int64  // ns, swapped per tick
	latN   atomic.Uint32 // swapped per tick
	// The counters below are 32 bits to fit the line: a tick close takes
	// differences modulo 2³², exact below 4 billion of each per tick.
	ign  atomic.Uint32 // Ignored, and Canceled that left before the baseline
	slow atomic.Uint32 // Canceled after waiting past the baseline: slow samples
	// rejections by reason (index Reason−1)
	rej [numReasons - 1]atomic.Uint32
}

// counters are a route's counters: one stripe of its own and, once the
// route has been busy, a power-of-two block of more.
type counters struct {
	more atomic.Pointer[[]counterStripe] // read by every request, set once
	_    cacheLinePad
	base counterStripe
	_    [48]byte // with base, more than a line; keeps the route (+ its 8-byte malloc header) in the 896-byte size class
}

// stripeAt is the decisions in one tick that make a route busy enough to
// stripe; maxStripes bounds a busy route's stripes (64 bytes each).
const (
	stripeAt   = 256
	maxStripes = 16
)

// stripes sizes a busy route's block for the machine: none when a single
// goroutine runs at a time, else the power of two ≥ 4 × GOMAXPROCS (two
// busy cores share a line with odds of about 1 in 8), at most maxStripes.
func stripes() int {
	p := runtime.GOMAXPROCS(0)
	if p <= 1 {
		return 0
	}
	return min(1<<bits.Len(uint(4*p-1)), maxStripes)
}

// spread gives the route its block of stripes if it has none and the
// machine runs goroutines in parallel. Caller holds the route's mu.
func (c *counters) spread() {
	if c.more.Load() != nil {
		return
	}
	if n := stripes(); n > 0 {
		// a power-of-two size class keeps the block cache-line aligned
		block := make([]counterStripe, n)
		c.more.Store(&block)
	}
}

// stripe is the calling goroutine's stripe. Goroutine stacks lie apart by
// at least a kilobyte, so a hash of a local's address spreads goroutines
// over the stripes; stack growth may move a goroutine to another stripe,
// which only changes where it counts.
func (c *counters) stripe() *counterStripe {
	p := c.more.Load()
	if p == nil {
		return &c.base
	}
	var here byte
	h := uint64(uintptr(unsafe.Pointer(&here))>>10) * 0x9E3779B97F4A7C15
	s := *p
	return &s[(h>>(64-bits.Len(maxStripes-1)))&uint64(len(s)-1)]
}

// totals are the counters summed over the stripes; rej[i] counts
// rejections for Reason(i+1) modulo 2³².
type totals struct {
	seq, succ, fail uint64
	ign, slow       uint32 // modulo 2³²
	rej             [numReasons - 1]uint32
}

func (c *counters) totals() (t totals) {
	t.add(&c.base)
	if p := c.more.Load(); p != nil {
		for i := range *p {
			t.add(&(*p)[i])
		}
	}
	return t
}

func (t *totals) add(s *counterStripe) {
	t.seq += s.seq.Load()
	t.succ += s.succ.Load()
	t.fail += s.fail.Load()
	t.ign += s.ign.Load()
	t.slow += s.slow.Load()
	for i := range t.rej {
		t.rej[i] += s.rej[i].Load()
	}
}

// takeLatency returns and resets the latency sum and count.
func (c *counters) takeLatency() (sum int64, n uint64) {
	sum, n = c.base.latSum.Swap(0), uint64(c.base.latN.Swap(0))
	if p := c.more.Load(); p != nil {
		for i := range *p {
			sum += (*p)[i].latSum.Swap(0)
			n += uint64((*p)[i].latN.Swap(0))
		}
	}
	return sum, n
}
