package atrion

import (
	"math"
	"testing"
)

// Weighted max-min: a demand below the level gets all of it, the others
// share what is left by weight; hostile values are safe.
func TestWaterFill(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		name     string
		capacity float64
		demand   []float64
		weight   []float64
		want     []float64
	}{
		{"under capacity", 10, []float64{1, 2, 3}, nil, []float64{1, 2, 3}},
		{"small demand served in full", 8, []float64{0.25, 12}, nil, []float64{0.25, 7.75}},
		{"equal demands split evenly", 9, []float64{5, 5, 5}, nil, []float64{3, 3, 3}},
		{"weights", 9, []float64{10, 10}, []float64{2, 1}, []float64{6, 3}},
		{"bad weights count as 1", 8, []float64{10, 10}, []float64{nan, -3}, []float64{4, 4}},
		{"infinite weight counts as 1", 8, []float64{10, 10}, []float64{inf, 1}, []float64{4, 4}},
		{"bad demands get nothing", 8, []float64{nan, -1, 0, 10}, nil, []float64{0, 0, 0, 8}},
		{"infinite demand takes the rest", 8, []float64{inf, 2}, nil, []float64{6, 2}},
		{"no capacity", 0, []float64{1, 2}, nil, []float64{0, 0}},
		{"NaN capacity", nan, []float64{1, 2}, nil, []float64{0, 0}},
		{"empty", 5, nil, nil, nil},
	}
	for _, c := range cases {
		out := make([]float64, len(c.demand))
		waterFill(c.capacity, c.demand, c.weight, out, make([]int, 0, len(c.demand)))
		for i := range c.want {
			if math.Abs(out[i]-c.want[i]) > 1e-9 {
				t.Errorf("%s: got %v, want %v", c.name, out, c.want)
				break
			}
		}
	}
}

// The newest growth goes unserved first: a route that jumps past its
// incumbent demand gets the leftovers after the others' incumbent demand.
func TestTwoPassFillShedsNewestGrowth(t *testing.T) {
	var sc fillScratch
	out := make([]float64, 2)
	// a steady at 4 and b at 1 that just jumped to 8: capacity 8
	twoPassFill(8, []float64{4, 8}, []float64{4, 1}, nil, out, &sc)
	if math.Abs(out[0]-4) > 1e-9 || math.Abs(out[1]-4) > 1e-9 {
		t.Fatalf("got %v, want [4 4]: a's incumbent 4, b's 1 and 3 of its growth", out)
	}
	// NaN and negative slow demands count as all incumbent
	twoPassFill(6, []float64{4, 4}, []float64{math.NaN(), -1}, nil, out, &sc)
	if math.Abs(out[0]-3) > 1e-9 || math.Abs(out[1]-3) > 1e-9 {
		t.Fatalf("got %v, want [3 3]", out)
	}
}
