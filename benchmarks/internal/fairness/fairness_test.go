package fairness

import (
	"math"
	"testing"
)

func TestMaxMinShares(t *testing.T) {
	for _, c := range []struct {
		capacity float64
		demands  []float64
		want     []float64
	}{
		{306, []float64{240, 40, 40, 40, 40}, []float64{146, 40, 40, 40, 40}}, // big-tenant, slow database
		{80, []float64{60, 10, 10, 10, 10}, []float64{40, 10, 10, 10, 10}},    // the load test's big-tenant, backend slow
		{100, []float64{10, 80, 80}, []float64{10, 45, 45}},
		{100, []float64{60, 60}, []float64{50, 50}},
		{100, []float64{10, 20}, []float64{10, 20}}, // under capacity: everyone its demand
		{0, []float64{10, 20}, []float64{0, 0}},
		{-5, []float64{10}, []float64{0}},
		{100, []float64{0, 0, 200}, []float64{0, 0, 100}},
		{100, nil, nil},
	} {
		got := MaxMinShares(c.capacity, c.demands)
		if len(got) != len(c.want) {
			t.Fatalf("MaxMinShares(%v, %v) = %v, want %v", c.capacity, c.demands, got, c.want)
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-9 {
				t.Errorf("MaxMinShares(%v, %v) = %v, want %v", c.capacity, c.demands, got, c.want)
				break
			}
		}
	}
}

func TestJain(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{16, 16, 16}, 1},
		{[]float64{48, 0, 0}, 1.0 / 3},
		{[]float64{24.1, 8.4, 15.3}, 0.8601}, // equal-routes, Atrion, seed 1 (rounded rates)
		{[]float64{0, 0}, 1},
		{nil, 1},
	} {
		if got := Jain(c.xs); math.Abs(got-c.want) > 1e-3 {
			t.Errorf("Jain(%v) = %.4f, want %.4f", c.xs, got, c.want)
		}
	}
}
