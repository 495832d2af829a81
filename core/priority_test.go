package atrion_test

import (
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

var allPriorities = []atrion.Priority{atrion.PriorityCritical, atrion.PriorityHigh, atrion.PriorityNormal, atrion.PriorityLow, atrion.PriorityBulk}

// shedShares admits n requests per priority within one tick and returns the
// share rejected for each.
func shedShares(a *atrion.Atrion, route string, n int) map[atrion.Priority]float64 {
	out := map[atrion.Priority]float64{}
	for _, p := range allPriorities {
		rej := 0
		for range n {
			t, d := a.Admit(route, p)
			if !d.Allowed {
				rej++
			}
			t.Done(atrion.Ignored) // says nothing about health
		}
		out[p] = float64(rej) / float64(n)
	}
	return out
}

// TestPriorityShedding: under rising R bulk and low traffic are shed before
// normal, critical only by an open circuit, and each band sheds a share.
func TestPriorityShedding(t *testing.T) {
	a, clk := newManual(t, atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	const route = "POST /checkout"
	var levels []map[atrion.Priority]float64
	var rs []float64
	for tick := 0; tick < 40; tick++ {
		a.ReportOutcome(route, atrion.Outcome{Latency: 10 * time.Millisecond, IsError: true})
		clk.Advance(100 * time.Millisecond)
		s, _ := a.Snapshot(route)
		if s.Mode == atrion.ModeCircuitOpen {
			sh := shedShares(a, route, 200)
			for _, p := range allPriorities {
				if sh[p] != 1 {
					t.Fatalf("open circuit must reject every priority, %v got %.2f", p, sh[p])
				}
			}
			break
		}
		levels = append(levels, shedShares(a, route, 1000))
		rs = append(rs, s.Resistance)
	}
	if len(levels) < 10 {
		t.Fatalf("route opened too early to see the bands: %d levels", len(levels))
	}
	sawGradedBulk, sawGradedNormal := false, false
	for i, sh := range levels {
		if sh[atrion.PriorityCritical] != 0 {
			t.Fatalf("R=%.1f: critical shed %.2f before the circuit opened", rs[i], sh[atrion.PriorityCritical])
		}
		if !(sh[atrion.PriorityBulk] >= sh[atrion.PriorityLow] && sh[atrion.PriorityLow] >= sh[atrion.PriorityNormal] &&
			sh[atrion.PriorityNormal] >= sh[atrion.PriorityHigh]) {
			t.Fatalf("R=%.1f: lower priorities must be shed first: %v", rs[i], sh)
		}
		if sh[atrion.PriorityBulk] > 0.05 && sh[atrion.PriorityBulk] < 0.95 {
			sawGradedBulk = true
		}
		if sh[atrion.PriorityNormal] > 0.05 && sh[atrion.PriorityNormal] < 0.85 {
			sawGradedNormal = true
		}
		if i > 0 && sh[atrion.PriorityNormal]+0.01 < levels[i-1][atrion.PriorityNormal] && rs[i] > rs[i-1] {
			t.Fatalf("shed share fell while R rose: %v → %v", levels[i-1], sh)
		}
	}
	if !sawGradedBulk || !sawGradedNormal {
		t.Fatalf("shedding must be a share inside a band, not a cliff (bulk graded %v, normal graded %v)", sawGradedBulk, sawGradedNormal)
	}
	first := levels[0]
	if first[atrion.PriorityBulk] != 0 || first[atrion.PriorityNormal] != 0 {
		t.Fatalf("R=%.1f: nothing should be shed yet: %v", rs[0], first)
	}
}

func TestParsePriority(t *testing.T) {
	for s, want := range map[string]atrion.Priority{"critical": atrion.PriorityCritical, "bulk": atrion.PriorityBulk, "-1": atrion.PriorityHigh, "0": atrion.PriorityNormal} {
		if p, ok := atrion.ParsePriority(s); !ok || p != want {
			t.Errorf("ParsePriority(%q) = %v, %v", s, p, ok)
		}
	}
	for _, s := range []string{"", "CRITICAL", "3", "-3", "9999999999999999999", "normal\x00"} {
		if _, ok := atrion.ParsePriority(s); ok {
			t.Errorf("ParsePriority(%q) accepted", s)
		}
	}
	// out-of-range priorities clamp to the nearest one, they do not panic
	if atrion.Priority(100).String() != "bulk" || atrion.Priority(-100).String() != "critical" {
		t.Fatal("out-of-range priorities must clamp")
	}
}
