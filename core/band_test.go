package atrion

import (
	"math"
	"testing"
)

// The in-flight limit's bands per priority: who is shed first, and how.

func TestBands(t *testing.T) {
	if b := bands(0, 0); b != ([5]uint64{}) {
		t.Fatalf("no limit yet must give no bands: %v", b)
	}
	b := bands(40, 40)
	hi := func(p Priority) int64 { return int64(b[p.index()] & math.MaxUint32) }
	lo := func(p Priority) int64 { return int64(b[p.index()] >> 32) }
	if lo(PriorityCritical) <= hi(PriorityHigh) {
		t.Fatalf("critical traffic must be shed last, past the limit: critical from %d, high all at %d", lo(PriorityCritical), hi(PriorityHigh))
	}
	if !(hi(PriorityHigh) > hi(PriorityNormal) && hi(PriorityNormal) > hi(PriorityLow) && hi(PriorityLow) > hi(PriorityBulk)) {
		t.Fatalf("lower priorities must hit the limit first: %v", b)
	}
	if hi(PriorityHigh) != 40*256 {
		t.Fatalf("high traffic may fill the whole limit: hi %d, want %d", hi(PriorityHigh), 40*256)
	}
	// a tiny limit still admits one call of every priority
	for _, p := range []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow, PriorityBulk} {
		if overBand(0, bands(0.3, 0.3)[p.index()], 0) {
			t.Fatalf("%v shed with nothing in flight under a limit of 0.3", p)
		}
	}
}

// Inside a band the shed share grows with in-flight: a share of the
// decision hashes, not a cliff.
func TestOverBandGraded(t *testing.T) {
	band := bands(100, 100)[PriorityNormal.index()] // 81..90 in flight
	share := func(in int64) float64 {
		n := 0
		for i := range uint64(10000) {
			if overBand(in, band, weyl(i)) {
				n++
			}
		}
		return float64(n) / 10000
	}
	if s := share(80); s != 0 {
		t.Fatalf("below the band: shed %.3f, want 0", s)
	}
	if s := share(90); s != 1 {
		t.Fatalf("at the top of the band: shed %.3f, want 1", s)
	}
	lo, mid := share(82), share(86)
	if !(lo > 0 && lo < mid && mid < 1) {
		t.Fatalf("inside the band the share must grow: %.3f at 82, %.3f at 86", lo, mid)
	}
}

// After a cut of the limit to 50 from 100 (held at 100 for about a
// second, law.TestLimitHeldThroughACut), normal traffic is cut with the
// limit and critical traffic keeps a band near 2 × what was held.
func TestCriticalBandHeldThroughACut(t *testing.T) {
	b := bands(50, 100)
	hi := func(p Priority) float64 { return float64(b[p.index()]&math.MaxUint32) / 256 }
	if hi(PriorityNormal) > 0.9*50+1 || hi(PriorityCritical) < 1.5*100 {
		t.Fatalf("after a cut to 50: normal band up to %.1f, critical up to %.1f: want normal cut, critical held near 2 × 100", hi(PriorityNormal), hi(PriorityCritical))
	}
}
