package atrion

import "math"

// A route's demand: how much it is asked for beside what it takes in
// (RouteSnapshot.Demand). It is counted at the tick close, never per
// request.

// demandTicks is the demand window in ticks: one second at the default
// tick, short enough to show an overload as it starts, long enough that
// one tick's handful of requests does not swing it.
const demandTicks = 10

// demandWindow holds a route's admissions and its in-flight limit's
// rejections in each of the last demandTicks ticks, a ring.
type demandWindow struct {
	admitted, shed [demandTicks]uint32
	at             uint8 // the slot of the next tick
}

// add records ticks closed ticks: the first with admitted and shed, the
// rest (a silent gap) empty.
func (w *demandWindow) add(admitted, shed uint64, ticks int64) {
	for i := range min(max(ticks, 1), demandTicks) {
		a, s := uint32(min(admitted, math.MaxUint32)), uint32(min(shed, math.MaxUint32))
		if i > 0 {
			a, s = 0, 0
		}
		w.admitted[w.at], w.shed[w.at] = a, s
		w.at = (w.at + 1) % demandTicks
	}
}

// demand is (admitted + shed) ÷ admitted over the window, admitted
// counted as at least one request: 1 while the limit sheds nothing (an
// idle route, and a route that never shed, whose window is nil,
// included), 2 when it sheds as many requests as it admits.
func (w *demandWindow) demand() float64 {
	if w == nil {
		return 1
	}
	var a, s float64
	for i := range demandTicks {
		a += float64(w.admitted[i])
		s += float64(w.shed[i])
	}
	return 1 + s/max(a, 1)
}
