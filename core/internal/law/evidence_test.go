package law

import "testing"

func TestWilsonLower(t *testing.T) {
	for _, c := range []struct{ k, n, want float64 }{
		{0, 10, 0}, {0, 0, 0}, {1, 1, 0.2065}, {1, 10, 0.0179}, {10, 10, 0.7225}, {50, 100, 0.4038},
	} {
		if got := WilsonLower(c.k, c.n); got < c.want-0.0005 || got > c.want+0.0005 {
			t.Errorf("wilsonLower(%v, %v) = %.4f, want %.4f", c.k, c.n, got, c.want)
		}
	}
}
