package atrion

import (
	"math"
	"strconv"
)

// Priorities and their shares of a route's in-flight limit.

// Priority ranks a request for shedding. Lower priorities are shed
// first; the zero value is PriorityNormal. Admit clamps a value outside
// PriorityCritical..PriorityBulk to the nearest one and counts it as
// invalid input (Stats.InvalidInputs).
type Priority int8

// Priorities, from most to least important. Each may fill its Share of
// the route's in-flight limit and sheds a growing part of its requests
// over the last tenth of that share (graded, not a cliff), so bulk is shed
// first and critical last: critical may fill twice the limit, long after
// everything else is shed, so it is served throughout overload while it
// fits the service and queues no further when it alone does not.
//
// An open circuit rejects every priority but its probe. In RECOVERING,
// critical traffic passes, high traffic gets twice the ramp's share, normal
// the ramp's share, and low and bulk its square.
const (
	PriorityCritical Priority = -2
	PriorityHigh     Priority = -1
	PriorityNormal   Priority = 0
	PriorityLow      Priority = 1
	PriorityBulk     Priority = 2
)

// index maps a priority to 0..4, clamping out-of-range values to the
// nearest valid priority.
func (p Priority) index() int {
	i := int(p) + 2
	if i < 0 {
		return 0
	}
	if i > 4 {
		return 4
	}
	return i
}

var priorityNames = [...]string{"critical", "high", "normal", "low", "bulk"}

// String returns critical, high, normal, low or bulk.
func (p Priority) String() string { return priorityNames[p.index()] }

// ParsePriority reads a priority name (as printed by String, case-sensitive)
// or its number (-2..2). ok is false for anything else.
func ParsePriority(s string) (p Priority, ok bool) {
	for i, n := range priorityNames {
		if s == n {
			return Priority(i - 2), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= -2 && n <= 2 {
		return Priority(n), true
	}
	return PriorityNormal, false
}

// bandHi is each priority's share of the in-flight limit (SPEC's Ohm's-law
// view, I = V/R), by index: critical, high, normal, low, bulk. The one
// place these numbers live.
var bandHi = [5]float64{2, 1, 0.9, 0.75, 0.6}

// Share returns the share of a route's in-flight limit that requests of
// priority p may fill: all of it for PriorityHigh, twice it for
// PriorityCritical, less for each lower priority.
func (p Priority) Share() float64 { return bandHi[p.index()] }

// bandLo is where, as a share of its band, a priority begins to be shed.
const bandLo = 0.9

// bands packs each priority's in-flight band for the hot path: lo<<32 | hi,
// both in 1/256ths of a request; 0 means no limit. Critical traffic's band
// is reckoned from held, the limit with its falls held back.
func bands(limit, held float64) (b [5]uint64) {
	if limit <= 0 || math.IsNaN(limit) {
		return b
	}
	for i, share := range bandHi {
		ref := limit
		if i == 0 {
			ref = math.Max(limit, held)
		}
		hi := math.Min(math.MaxUint32, math.Max(256, math.Round(256*ref*share)))
		lo := math.Round(hi * bandLo)
		b[i] = uint64(lo)<<32 | uint64(hi)
	}
	return b
}

// overBand reports whether a request that finds in requests in flight is
// shed by band: always at or above hi, never below lo, and in between for
// the share (in − lo)/(hi − lo) of the decision hashes h.
func overBand(in int64, band uint64, h uint32) bool {
	hi, lo := int64(band&math.MaxUint32), int64(band>>32)
	x := in << 8
	switch {
	case x >= hi:
		return true
	case x < lo:
		return false
	}
	return uint64(h)*uint64(hi-lo) < uint64(x-lo)<<32
}
