package atrion

import (
	"math"
	"slices"
)

// Weighted max-min fair shares (water-filling), the one rule both levels
// of sharing use: the routes of a group share its capacity
// (share_group.go), the client keys of a route share its limit
// (share_keys.go). Pure functions of their inputs; the scratch slices
// they are handed are reused, so a tick's fill allocates nothing once
// warm.

// waterFill divides capacity among demands by weighted max-min fairness
// into out (len(demand) entries): no one gets more than it asks, and what
// a demand below the level leaves is shared by the others in proportion
// to their weights. Bad values are safe: a demand that is NaN or ≤ 0 gets
// nothing, a weight that is NaN, Inf or ≤ 0 counts as 1, an infinite
// demand takes what is left. order is scratch of len(demand) or more.
func waterFill(capacity float64, demand, weight, out []float64, order []int) {
	n := len(demand)
	order = order[:0]
	wsum := 0.0
	for i := range n {
		out[i] = 0
		if demand[i] > 0 {
			order = append(order, i)
			wsum += shareWeight(weight, i)
		}
	}
	if !(capacity > 0) || len(order) == 0 {
		return
	}
	// fill the levels from the smallest demand per weight up
	slices.SortFunc(order, func(a, b int) int {
		x, y := demand[a]/shareWeight(weight, a), demand[b]/shareWeight(weight, b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return a - b // stable: the same fill every time
	})
	left := capacity
	for k, i := range order {
		w := shareWeight(weight, i)
		level := left / wsum
		if demand[i]/w <= level {
			out[i] = demand[i]
			left -= demand[i]
			wsum -= w
			continue
		}
		for _, j := range order[k:] {
			out[j] = level * shareWeight(weight, j)
		}
		return
	}
}

// shareWeight is weight i, or 1 when there are no weights or it is not a
// positive finite number.
func shareWeight(weight []float64, i int) float64 {
	if i >= len(weight) {
		return 1
	}
	if w := weight[i]; w > 0 && !math.IsInf(w, 0) {
		return w
	}
	return 1
}

// fillScratch is the reusable memory of twoPassFill.
type fillScratch struct {
	inc, grow, out1, out2 []float64
	order                 []int
}

// twoPassFill is waterFill with the newest growth shed first: it fills
// the incumbent demands (min(demand, slow): what each asked for over
// a longer past) before any growth beyond them, so that when one demand
// jumps, its jump is what goes unserved. out gets each demand's share.
func twoPassFill(capacity float64, demand, slow, weight, out []float64, sc *fillScratch) {
	n := len(demand)
	sc.inc, sc.grow = grown(sc.inc, n), grown(sc.grow, n)
	sc.out1, sc.out2 = grown(sc.out1, n), grown(sc.out2, n)
	if cap(sc.order) < n {
		sc.order = make([]int, 0, n)
	}
	for i := range n {
		d := demand[i]
		if !(d > 0) || math.IsNaN(d) {
			d = 0
		}
		s := slow[i]
		if !(s >= 0) { // NaN or negative: no past, all of it incumbent
			s = d
		}
		sc.inc[i] = math.Min(d, s)
		sc.grow[i] = d - sc.inc[i]
	}
	waterFill(capacity, sc.inc, weight, sc.out1, sc.order)
	left := capacity
	for _, v := range sc.out1 {
		left -= v
	}
	waterFill(left, sc.grow, weight, sc.out2, sc.order)
	for i := range n {
		out[i] = sc.out1[i] + sc.out2[i]
	}
}

// grown returns s with length n, reusing its memory when it can.
func grown(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// burst is the headroom over a mean demand of d calls in flight that a
// share within its fair share keeps, so that Poisson bursts of a route or
// key that asks for little are not shed: about three standard deviations,
// and two calls at least.
func burst(d float64) float64 { return 2 + 3*math.Sqrt(math.Max(0, d)) }
