package httpx

import (
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
)

func TestHeaderPriority(t *testing.T) {
	for in, want := range map[string]atrion.Priority{
		"critical": atrion.PriorityCritical, " HIGH ": atrion.PriorityHigh, "Low": atrion.PriorityLow,
		"bulk": atrion.PriorityBulk, "Normal": atrion.PriorityNormal,
		"-2": atrion.PriorityCritical, "2": atrion.PriorityBulk, "0": atrion.PriorityNormal,
		"": atrion.PriorityNormal, "urgent": atrion.PriorityNormal, "3": atrion.PriorityNormal, "-3": atrion.PriorityNormal,
		"1e9": atrion.PriorityNormal, "NaN": atrion.PriorityNormal, strings.Repeat("9", 1000): atrion.PriorityNormal,
		"critical\x00": atrion.PriorityNormal, "\xff\xfe": atrion.PriorityNormal,
	} {
		if got := HeaderPriority(in); got != want {
			t.Errorf("HeaderPriority(%q) = %v, want %v", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = HeaderPriority("High") }); n != 0 {
		t.Fatalf("HeaderPriority allocates %v times", n)
	}
}

func FuzzHeaderPriority(f *testing.F) {
	for _, s := range []string{"critical", "HIGH", "-2", "2", "", "  low ", "\x00", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := HeaderPriority(s)
		if p < atrion.PriorityCritical || p > atrion.PriorityBulk {
			t.Fatalf("HeaderPriority(%q) = %d, out of range", s, p)
		}
	})
}
