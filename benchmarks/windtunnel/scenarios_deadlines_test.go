package windtunnel

import (
	"testing"
	"time"
)

// The deadline checks fail what they should: work started on a doomed
// call in the window, and a served share below a peer's.
func TestDeadlineChecksCanFail(t *testing.T) {
	w := span(10, 50)
	mk := func(doomedAt int, served, offered int32) *Result {
		r := &Result{Bin: time.Second, Duration: 60 * sec, DoomedBins: make([]int32, 60), EntryBins: make([]Counts, 60), Classes: []string{"users"}, Legit: []bool{true}, ClassBins: [][]UserCounts{make([]UserCounts, 60)}}
		if doomedAt >= 0 {
			r.DoomedBins[doomedAt] = 1
		}
		r.ClassBins[0][20] = UserCounts{Offered: offered, Served: served}
		return r
	}
	none := mk(-1, 50, 100)
	o := map[string]*Result{None.Name: none, FailsafeLimiter.Name: mk(-1, 60, 100)}
	if _, ok := noDoomedWork(w).Eval(mk(0, 70, 100), o); !ok {
		t.Error("a doomed start before the window failed the check")
	}
	if _, ok := noDoomedWork(w).Eval(mk(20, 70, 100), o); ok {
		t.Error("a doomed start in the window passed")
	}
	if seen, ok := servedAtLeastPeers(w, 0.005).Eval(mk(-1, 59, 100), o); ok {
		t.Errorf("59%% served against a peer's 60%% passed: %s", seen)
	}
	if seen, ok := servedAtLeastPeers(w, 0.005).Eval(mk(-1, 60, 100), o); !ok {
		t.Errorf("60%% against 60%% failed: %s", seen)
	}
}
