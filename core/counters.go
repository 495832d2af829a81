package atrion

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A busy route's per-request counters are striped, like a LongAdder, so
// that cores serving one hot route do not fight over one cache line (the
// design and its measurements: benchmarks/hotpath/README.md).

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
	// peak is the highest in-flight the hot path saw in the tick (base
	// stripe only, where in-flight is exact), swapped per tick
	peak atomic.Uint32
}

// inflight is this stripe's share of the route's requests in flight:
// decisions (seq of them) − rejections − outcomes, modulo 2³². A request
// may be admitted on one stripe and done on another, so only the sum over
// every stripe is a count.
func (s *counterStripe) inflight(seq uint64) int32 {
	v := uint32(seq) - uint32((s.succ.Load()+s.fail.Load())>>failShift) - s.ign.Load() - s.slow.Load()
	for i := range s.rej {
		v -= s.rej[i].Load()
	}
	return int32(v)
}

// counters are a route's counters: one stripe of its own and, once the
// route has been busy, a power-of-two block of more.
type counters struct {
	more  atomic.Pointer[[]counterStripe] // the stripes counted into beyond base; nil: base only
	block atomic.Pointer[[]counterStripe] // every stripe the route was given: more, or frozen
	// base starts a cache line of its own (TestRouteLayout): the route's
	// read-mostly decision fields, and its leak watch, come before it
	base counterStripe
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

// spread makes requests count on the route's block of stripes, making it
// if the route has none and the machine runs goroutines in parallel.
// Caller holds the route's mu.
func (c *counters) spread() {
	if c.more.Load() != nil {
		return
	}
	if c.block.Load() == nil {
		n := stripes()
		if n == 0 {
			return
		}
		// a power-of-two size class keeps the block cache-line aligned
		block := make([]counterStripe, n)
		c.block.Store(&block)
	}
	c.more.Store(c.block.Load())
}

// narrow makes requests count on the base stripe alone, where in-flight is
// exact; the block's counts stay in the sums. Caller holds the route's mu.
func (c *counters) narrow() { c.more.Store(nil) }

// frozenInflight is the in-flight share of the block's stripes while the
// route counts on its base stripe alone (0 otherwise): no request counts
// into them any more, so it holds still.
func (c *counters) frozenInflight() int32 {
	p := c.block.Load()
	if p == nil || c.more.Load() != nil {
		return 0
	}
	var v int32
	for i := range *p {
		s := &(*p)[i]
		v += s.inflight(s.seq.Load())
	}
	return v
}

// inflight is the route's requests in flight, over every stripe (without
// the correction for untracked calls).
func (c *counters) inflight() int32 {
	v := c.base.inflight(c.base.seq.Load())
	if p := c.block.Load(); p != nil {
		for i := range *p {
			s := &(*p)[i]
			v += s.inflight(s.seq.Load())
		}
	}
	return v
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
	if p := c.block.Load(); p != nil {
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
	if p := c.block.Load(); p != nil {
		for i := range *p {
			sum += (*p)[i].latSum.Swap(0)
			n += uint64((*p)[i].latN.Swap(0))
		}
	}
	return sum, n
}
