package atrreplay

import (
	"slices"
	"time"
)

// Match pairs the transitions of want with those of got: the same route
// (by name), the same modes, at most tol apart, each used once. It
// returns how many paired, and those of want (indexing want.Routes) and
// of got (indexing got.Routes) left unpaired, in time order.
func Match(want, got *Result, tol time.Duration) (matched int, missing, extra []Transition) {
	byRoute := func(r *Result) map[string][]Transition {
		m := map[string][]Transition{}
		for _, t := range r.Transitions {
			n := r.Routes[t.Route]
			m[n] = append(m[n], t)
		}
		for _, ts := range m {
			slices.SortStableFunc(ts, func(a, b Transition) int { return cmpInt(a.At, b.At) })
		}
		return m
	}
	w, g := byRoute(want), byRoute(got)
	for name, ws := range w {
		gs := g[name]
		used := make([]bool, len(gs))
		j := 0
		for _, t := range ws {
			for j < len(gs) && gs[j].At < t.At-tol {
				j++
			}
			found := false
			for k := j; k < len(gs) && gs[k].At <= t.At+tol; k++ {
				if !used[k] && gs[k].From == t.From && gs[k].To == t.To {
					used[k], found = true, true
					break
				}
			}
			if found {
				matched++
			} else {
				missing = append(missing, t)
			}
		}
		for k, u := range used {
			if !u {
				extra = append(extra, gs[k])
			}
		}
	}
	for name, gs := range g {
		if _, ok := w[name]; !ok {
			extra = append(extra, gs...)
		}
	}
	byTime := func(a, b Transition) int { return cmpInt(a.At, b.At) }
	slices.SortStableFunc(missing, byTime)
	slices.SortStableFunc(extra, byTime)
	return matched, missing, extra
}
