package hop

import (
	"context"
	"math"
	"sync"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
)

const sec = int64(1e9)

// With every call accepted the throttle never rejects; once the server
// refuses, the share rejected follows max(0, (req − 2·acc)/(req + 1)) over
// the last 2 s, and it forgets the refusals once they leave the window.
func TestThrottleRule(t *testing.T) {
	ts := NewThrottles(false, BudgetRule{})
	th, _ := ts.For("payments:443")
	now := 10 * sec
	for range 1000 {
		if !th.Allow(now) {
			t.Fatal("a healthy dependency throttled")
		}
		th.Done(now, true)
	}
	if s := th.RejectShare(now); s != 0 {
		t.Fatalf("share %v with every call accepted", s)
	}
	// the server refuses everything for 2 s: requests pile up, accepts do not
	now += 3 * sec // the accepted calls left the window
	sent, rejected := 0, 0
	for i := range 2000 {
		at := now + int64(i)*sec/1000
		if th.Allow(at) {
			sent++
			th.Done(at, false)
		} else {
			rejected++
		}
	}
	// with no accepts the share tends to req/(req+1): nearly all rejected
	if sent > 40 || rejected < 1960 {
		t.Fatalf("refused for 2 s: %d sent, %d rejected", sent, rejected)
	}
	// half accepted: K = 2 sends up to twice what is accepted, so none are rejected
	now += 5 * sec
	for i := range 1000 {
		at := now + int64(i)*sec/1000
		if th.Allow(at) {
			th.Done(at, i%2 == 0)
		}
	}
	if s := th.RejectShare(now + sec - 1); s != 0 {
		t.Fatalf("half accepted: share %v, want 0 (K = 2)", s)
	}
	// a quarter accepted: (req − 2·req/4)/(req+1) ≈ 0.5
	now += 5 * sec
	for i := range 1000 {
		at := now + int64(i)*sec/1000
		th.Done(at, i%4 == 0) // sent and answered: the formula's inputs
	}
	if s := th.RejectShare(now + sec - 1); math.Abs(s-0.5) > 0.01 {
		t.Fatalf("a quarter accepted: share %v, want about 0.5", s)
	}
}

// The throttle rejects its share deterministically: the same calls at the
// same times decide the same way.
// Calls in flight never count as refused: a burst of slow calls is never
// throttled before any answer.
func TestThrottleInFlight(t *testing.T) {
	th, _ := NewThrottles(false, BudgetRule{}).For("slow")
	for i := range 1000 {
		if !th.Allow(int64(i) * 1e6) {
			t.Fatalf("call %d throttled with no refusal yet", i)
		}
	}
}

func TestThrottleDeterministic(t *testing.T) {
	run := func() (out []bool) {
		th, _ := NewThrottles(false, BudgetRule{}).For("x")
		for i := range 500 {
			at := int64(i) * sec / 500
			ok := th.Allow(at)
			out = append(out, ok)
			if ok {
				th.Done(at, i%5 == 0)
			}
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d decided %v then %v", i, a[i], b[i])
		}
	}
}

// Hostile times: negative, zero, far future, and time running backwards
// never panic nor count into a wrong period's future.
func TestThrottleHostileTimes(t *testing.T) {
	th, _ := NewThrottles(false, BudgetRule{}).For("")
	for _, at := range []int64{math.MinInt64, -1, 0, math.MaxInt64, 5 * sec, 4 * sec, 0} {
		th.Allow(at)
		th.Done(at, true)
		if s := th.RejectShare(at); s < 0 || s > 1 || math.IsNaN(s) {
			t.Fatalf("share %v at %d", s, at)
		}
	}
}

// Retries are allowed while they stay under 20 % of calls plus the floor
// of 5 a second over the 10 s window; a zero Budget allows none.
func TestBudget(t *testing.T) {
	var zero Budget
	zero.Call(0)
	if zero.TryRetry(0) {
		t.Fatal("the zero budget allowed a retry")
	}
	_, b := NewThrottles(true, BudgetRule{}).For("dep")
	now := 100 * sec
	for range 1000 {
		b.Call(now)
	}
	allowed := 0
	for range 1000 {
		if b.TryRetry(now) {
			allowed++
		}
	}
	if want := 200 + 50; allowed != want {
		t.Fatalf("%d retries allowed for 1000 calls, want %d", allowed, want)
	}
	// the window forgets
	if !b.TryRetry(now + 11*sec) {
		t.Fatal("no retry allowed after the window passed")
	}
}

// Hostile rules fall back to the defaults; a ratio above 1 is capped.
func TestBudgetRuleNormal(t *testing.T) {
	for _, r := range []BudgetRule{{math.NaN(), math.NaN()}, {math.Inf(1), math.Inf(-1)}, {0, 0}, {-1, 0}} {
		if n := r.normal(); n.Ratio != DefaultRetryRatio || n.PerSecond != DefaultRetryPerSecond {
			t.Errorf("%+v → %+v", r, n)
		}
	}
	if n := (BudgetRule{PerSecond: -3}).normal(); n.PerSecond != 0 {
		t.Errorf("a negative floor → %v, want none", n.PerSecond)
	}
	if n := (BudgetRule{Ratio: 7}).normal(); n.Ratio != 1 {
		t.Errorf("ratio 7 → %v", n.Ratio)
	}
}

func TestThrottleAllocs(t *testing.T) {
	ts := NewThrottles(true, BudgetRule{})
	var i int64
	n := testing.AllocsPerRun(1000, func() {
		th, b := ts.For("payments.internal:8443")
		th.Allow(i)
		th.Done(i, i%2 == 0)
		b.Call(i)
		b.TryRetry(i)
		i += 1e6
	})
	if n != 0 {
		t.Fatalf("throttle and budget allocate %v times", n)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	th, _ := NewThrottles(false, BudgetRule{}).For("x")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				at := int64(g*2000+i) * 1e6
				th.Allow(at)
				th.Done(at, i%3 == 0)
			}
		})
	}
	wg.Wait()
}

func TestState(t *testing.T) {
	if From(nil) != nil || From(context.Background()) != nil {
		t.Fatal("a State from nothing")
	}
	MarkRelayed(context.Background()) // no State: nothing to mark, no panic
	ctx, s := WithState(context.Background(), atrion.PriorityHigh, "tenant-7")
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	if RelayedStatus(inner, 503) {
		t.Fatal("relayed before any call was refused")
	}
	MarkRelayed(inner)
	if !s.Relayed() || From(inner) != s || s.Priority != atrion.PriorityHigh || s.Key != "tenant-7" {
		t.Fatal("the mark did not reach the request's State")
	}
	for status, want := range map[int]bool{503: true, 502: true, 429: true, 500: false, 200: false, 404: false, 0: false, -1: false} {
		if got := RelayedStatus(inner, status); got != want {
			t.Errorf("RelayedStatus(%d) = %v", status, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = RelayedStatus(inner, 503) }); n != 0 {
		t.Fatalf("RelayedStatus allocates %v times", n)
	}
}

func TestSwitch(t *testing.T) {
	a, err := atrion.New()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	if Switch(a) != Switch(a) || Switch(a).Load() {
		t.Fatal("one engine, one switch, off until an outbound adapter turns it on")
	}
}

func TestRetry(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "3": true, "007": true, "999999999": true,
		"": false, "0": false, "000": false, "-1": false, " 1": false, "1 ": false, "+1": false, "1e3": false,
		"9999999999": false, "１": false, "\x00": false, "abc": false,
	} {
		if got := Retry(v); got != want {
			t.Errorf("Retry(%q) = %v", v, got)
		}
	}
}

func FuzzRetry(f *testing.F) {
	for _, s := range []string{"1", "0", "", "-1", "99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = Retry(s) })
}
