package atrion_test

import (
	"math"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

var allPriorities = []atrion.Priority{atrion.PriorityCritical, atrion.PriorityHigh, atrion.PriorityNormal, atrion.PriorityLow, atrion.PriorityBulk}

// shedShares tries n requests per priority and returns the share rejected
// for each; admitted ones finish at once, so in-flight stays where it was.
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

// TestPriorityShedding: as in-flight climbs toward the route's limit, bulk
// and low traffic are shed before normal and high, critical never (only an
// open circuit sheds it), and each band sheds a growing share, not a
// cliff.
func TestPriorityShedding(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	const route = "POST /checkout"
	// a healthy tick with 10 calls in flight at once sets the limit
	var held []atrion.Ticket
	for range 10 {
		tk, _ := a.Admit(route, atrion.PriorityNormal)
		held = append(held, tk)
	}
	for _, tk := range held {
		tk.Done(atrion.Success)
	}
	clk.Advance(100 * time.Millisecond)
	s, _ := a.Snapshot(route)
	limit := s.Limit
	if limit < 10 {
		t.Fatalf("limit %.1f after a tick with 10 in flight", limit)
	}
	held = held[:0]
	var levels []map[atrion.Priority]float64
	for in := 0; in <= int(limit)+2; in++ {
		levels = append(levels, shedShares(a, route, 400))
		// one more call in flight; critical is never shed by the limit
		tk, d := a.Admit(route, atrion.PriorityCritical)
		if !d.Allowed {
			t.Fatalf("critical call rejected at %d in flight (limit %.1f)", in, limit)
		}
		held = append(held, tk)
	}
	sawGradedBulk, sawGradedNormal := false, false
	for in, sh := range levels {
		if sh[atrion.PriorityCritical] != 0 {
			t.Fatalf("%d in flight: critical shed %.2f by the limit", in, sh[atrion.PriorityCritical])
		}
		if !(sh[atrion.PriorityBulk] >= sh[atrion.PriorityLow] && sh[atrion.PriorityLow] >= sh[atrion.PriorityNormal] &&
			sh[atrion.PriorityNormal] >= sh[atrion.PriorityHigh]) {
			t.Fatalf("%d in flight: lower priorities must be shed first: %v", in, sh)
		}
		if sh[atrion.PriorityBulk] > 0.05 && sh[atrion.PriorityBulk] < 0.95 {
			sawGradedBulk = true
		}
		if sh[atrion.PriorityNormal] > 0.05 && sh[atrion.PriorityNormal] < 0.95 {
			sawGradedNormal = true
		}
		if in > 0 {
			for _, p := range allPriorities {
				if sh[p]+0.01 < levels[in-1][p] {
					t.Fatalf("%v: shed share fell while in-flight rose: %v → %v", p, levels[in-1], sh)
				}
			}
		}
	}
	if !sawGradedBulk || !sawGradedNormal {
		t.Fatalf("shedding must be a share inside a band, not a cliff (bulk graded %v, normal graded %v)", sawGradedBulk, sawGradedNormal)
	}
	if first := levels[0]; first[atrion.PriorityBulk] != 0 || first[atrion.PriorityHigh] != 0 {
		t.Fatalf("nothing in flight: nothing should be shed: %v", first)
	}
	if last := levels[len(levels)-1]; last[atrion.PriorityHigh] != 1 || last[atrion.PriorityBulk] != 1 {
		t.Fatalf("past the limit %.1f every priority but critical is shed: %v", limit, last)
	}
	for _, tk := range held {
		tk.Done(atrion.Success)
	}
}

// TestOpenCircuitShedsEveryPriority: an open circuit rejects critical
// traffic too (beyond its one probe).
func TestOpenCircuitShedsEveryPriority(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	const route = "POST /checkout"
	for range 40 {
		for range 20 {
			if tk, d := a.Admit(route, atrion.PriorityNormal); d.Allowed {
				tk.Done(atrion.Failure)
			}
		}
		clk.Advance(100 * time.Millisecond)
		if s, _ := a.Snapshot(route); s.Mode == atrion.ModeCircuitOpen {
			break
		}
	}
	if s, _ := a.Snapshot(route); s.Mode != atrion.ModeCircuitOpen {
		t.Fatalf("mode %v, want CIRCUIT_OPEN", s.Mode)
	}
	sh := shedShares(a, route, 200)
	for _, p := range allPriorities {
		if sh[p] < 0.99 {
			t.Fatalf("open circuit must reject every priority (one probe aside): %v", sh)
		}
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

// Share orders the priorities: each may fill less of the limit than the
// one above it, high all of it and critical twice it.
func TestPriorityShare(t *testing.T) {
	prev := math.Inf(1)
	for _, p := range allPriorities {
		if s := p.Share(); !(s < prev) || s <= 0 {
			t.Fatalf("%v: share %v, want below %v and positive", p, s, prev)
		}
		prev = p.Share()
	}
	if atrion.PriorityHigh.Share() != 1 || atrion.PriorityCritical.Share() != 2 || atrion.Priority(9).Share() != atrion.PriorityBulk.Share() {
		t.Fatalf("high %v, critical %v, out of range %v", atrion.PriorityHigh.Share(), atrion.PriorityCritical.Share(), atrion.Priority(9).Share())
	}
}
