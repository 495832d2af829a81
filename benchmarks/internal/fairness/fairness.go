// Package fairness holds the measures of a fair division that the Wind
// Tunnel and the loopback load test judge shared capacity by, once, so
// that both judge it alike.
package fairness

// Jain is Jain's fairness index of xs: (Σx)² ÷ (n·Σx²), 1 when all are
// equal, 1/n when one takes everything (1 for no or all-zero values,
// which are equal; a check of fairness should pair it with one of the
// total).
func Jain(xs []float64) float64 {
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	if s2 == 0 {
		return 1
	}
	return s * s / (float64(len(xs)) * s2)
}

// MaxMinShares divides capacity among demands by max-min fairness
// (water-filling): no one gets more than it asks, and what a demand below
// the level leaves is shared by the others.
func MaxMinShares(capacity float64, demands []float64) []float64 {
	shares := make([]float64, len(demands))
	left := capacity
	open := make([]int, 0, len(demands))
	for i := range demands {
		open = append(open, i)
	}
	for len(open) > 0 && left > 0 {
		level := left / float64(len(open))
		var next []int
		for _, i := range open {
			if demands[i]-shares[i] <= level {
				left -= demands[i] - shares[i]
				shares[i] = demands[i]
			} else {
				next = append(next, i)
			}
		}
		if len(next) == len(open) { // everyone left wants more than the level
			for _, i := range open {
				shares[i] += level
			}
			break
		}
		open = next
	}
	return shares
}
