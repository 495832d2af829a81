package hop

import "math"

// BudgetRule is a retry budget's rule (Finagle's RetryBudget, Envoy's
// retry budget): a retry is allowed while the retries in the window stay
// under Ratio of the calls plus PerSecond retries a second.
type BudgetRule struct {
	Ratio     float64 // share of calls that may be retried; 0.2 by default
	PerSecond float64 // retries a second allowed whatever the calls; 5 by default, negative for none
}

// Defaults of a BudgetRule's fields.
const (
	DefaultRetryRatio     = 0.2
	DefaultRetryPerSecond = 5
)

// normal returns r with defaults for zero or non-finite fields (and a
// Ratio ≤ 0), Ratio at most 1, and a negative PerSecond as 0.
func (r BudgetRule) normal() BudgetRule {
	if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
		r.Ratio = DefaultRetryRatio
	}
	r.Ratio = math.Min(r.Ratio, 1)
	switch {
	case r.PerSecond == 0 || math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0):
		r.PerSecond = DefaultRetryPerSecond
	case r.PerSecond < 0:
		r.PerSecond = 0
	}
	return r
}

// Budget counts calls (a: first attempts) and retries (b) over the last
// BudgetBuckets periods. Its zero value allows no retry.
type Budget struct {
	w    window
	rule BudgetRule
}

// Call counts a first attempt at time now (ns).
func (b *Budget) Call(now int64) {
	if b.w != nil {
		b.w.at(period(now)).a.Add(1)
	}
}

// TryRetry reports whether a retry at time now fits the budget, and
// counts it if so.
func (b *Budget) TryRetry(now int64) bool {
	if b.w == nil {
		return false
	}
	p := period(now)
	calls, retries := b.w.sums(p)
	secs := float64(len(b.w)) * float64(BucketNs) / 1e9
	if float64(retries+1) > b.rule.Ratio*float64(calls)+b.rule.PerSecond*secs {
		return false
	}
	b.w.at(p).b.Add(1)
	return true
}
