package atrion

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/atrion-go/atrion/core/internal/law"
)

// keyRoute is an engine on a manual clock and its route "R" with key
// shares, its own limit set to limit.
func keyRoute(t testing.TB, limit float64, opts ...Option) (*Atrion, *route) {
	t.Helper()
	opts = append([]Option{WithClock(NewManualClock(time.Unix(1_700_000_000, 0))),
		WithPhysics(PhysicsConfig{BootstrapTicks: NoBootstrap})}, opts...)
	a, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(t.Context()) })
	r := a.lookup("R")
	r.keys.Store(newKeyShares())
	r.mu.Lock()
	r.st.Lim.Limit = limit
	r.mu.Unlock()
	return a, r
}

// offer counts one tick's requests of rate per second for each key on the
// key shares (as arrivals, without admitting them) and closes the key
// shares' tick with the route's latency latMs; refused says the tick saw
// a key refused, which keeps the shares on.
func offer(r *route, rates map[string]float64, latMs float64, refused uint64) {
	ks := r.keys.Load()
	var arrivals []string
	for _, k := range slices.Sorted(maps.Keys(rates)) {
		for range int(rates[k] / 10) { // a 100 ms tick
			arrivals = append(arrivals, k)
		}
	}
	// interleaved as arrivals are, in an order of the tick's own, the same
	// every run
	offerTicks++
	rng := rand.New(rand.NewPCG(offerTicks, 7))
	rng.Shuffle(len(arrivals), func(i, j int) { arrivals[i], arrivals[j] = arrivals[j], arrivals[i] })
	for _, k := range arrivals {
		ks.cell(k).arrivals.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fillKeyShares(&law.Tick{Dt: 100 * time.Millisecond, Tel: law.Telemetry{LatencyMs: latMs}}, 0, refused)
}

// offerTicks counts offer's ticks, each shuffled its own way.
var offerTicks uint64

// cellOf is the share key counts in.
func cellOf(r *route, key string) *keyCell { return r.keys.Load().cell(key) }

func passShare(c *keyCell) float64 { return float64(c.pass.Load()) / math.MaxUint32 }

// The big-tenant case: a limit of 20 calls in flight (18 for normal
// traffic) and 50 ms calls; four small keys need 2 calls each and are
// within their shares, the big one needs 12 and gets the 10 left, so 10/12
// of its requests pass.
func TestKeyShareFill(t *testing.T) {
	_, r := keyRoute(t, 20)
	rates := map[string]float64{"big": 240, "s1": 40, "s2": 40, "s3": 40, "s4": 40}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	if !r.keys.Load().on.Load() {
		t.Fatal("key shares off while keys are refused")
	}
	big := cellOf(r, "big")
	if big.within.Load() || math.Abs(passShare(big)-10.0/12) > 0.03 {
		t.Errorf("big key: within %v, pass %.3f; want over its share, pass 10/12", big.within.Load(), passShare(big))
	}
	for _, k := range []string{"s1", "s2", "s3", "s4"} {
		c := cellOf(r, k)
		if !c.within.Load() || c.pass.Load() != math.MaxUint32 {
			t.Errorf("%s: within %v, pass %.3f; want within its share, every request passing", k, c.within.Load(), passShare(c))
		}
		if hi := float64(c.band[PriorityNormal.index()].Load()&math.MaxUint32) / 256; hi < 2+burst(2)-0.01 {
			t.Errorf("%s: normal cap %.2f calls, want room for its bursts (%.2f)", k, hi, 2+burst(2))
		}
	}
}

// WithKeyWeight: a key of weight 3 gets three times a key of weight 1
// when both want more; hostile weights count as 1 or are clamped, and a
// hook that panics counts as 1.
func TestKeyShareWeights(t *testing.T) {
	weights := map[string]float64{"gold": 3, "nan": math.NaN(), "neg": -5, "zero": 0, "inf": math.Inf(1), "huge": 1e300, "tiny": 1e-300}
	hook := func(k string) float64 {
		if k == "panics" {
			panic("hostile hook")
		}
		if w, ok := weights[k]; ok {
			return w
		}
		return 1
	}
	_, r := keyRoute(t, 40, WithKeyWeight(hook))
	rates := map[string]float64{"gold": 1000, "plain": 1000}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	ks := r.keys.Load()
	gold, plain := passShare(cellOf(r, "gold")), passShare(cellOf(r, "plain"))
	if math.Abs(gold/plain-3) > 0.1 {
		t.Errorf("gold passes %.3f, plain %.3f: want a ratio of 3", gold, plain)
	}
	for k, want := range map[string]float64{"nan": 1, "neg": 1, "zero": 1, "inf": 1, "huge": keyMaxWeight, "tiny": 1.0 / keyMaxWeight, "panics": 1} {
		if got := clampKeyWeight(callKeyWeight(hook, k)); got != want {
			t.Errorf("weight of %q: %v, want %v", k, got, want)
		}
	}
	// a table of hostile weights still fills to finite shares
	for k := range weights {
		rates[k] = 500
	}
	rates["panics"] = 500
	for range 30 {
		offer(r, rates, 50, 1)
	}
	for i := range ks.cells {
		if p := passShare(&ks.cells[i]); math.IsNaN(p) || p < 0 || p > 1 {
			t.Fatalf("cell %d: pass %v", i, p)
		}
	}
	if p := passShare(cellOf(r, "huge")); p != 1 {
		t.Errorf("a weight of 1e300 (clamped to %d) should make its key's share cover its demand: pass %.3f", keyMaxWeight, p)
	}
}

// On admission: a key over its share is thinned to its share with
// ReasonKeyShare and a Retry-After, never banned; a key within it is
// served; critical requests are not thinned; tickets leave their share's
// in-flight once, however often Done is called.
func TestKeyShareAdmission(t *testing.T) {
	a, r := keyRoute(t, 20)
	rates := map[string]float64{"big": 240, "s1": 40, "s2": 40, "s3": 40, "s4": 40}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	want := passShare(cellOf(r, "big"))
	refused := 0
	const n = 2000
	for range n {
		tk, d := a.AdmitKey("R", "big", PriorityNormal)
		if !d.Allowed {
			if d.Reason != ReasonKeyShare || d.RetryAfter <= 0 {
				t.Fatalf("big key refused with %v, retry after %v; want key_share with a hint", d.Reason, d.RetryAfter)
			}
			refused++
		}
		tk.Done(Success)
		tk.Done(Success) // a second Done must not take it out of its share twice
	}
	if got := 1 - float64(refused)/n; math.Abs(got-want) > 0.02 {
		t.Errorf("big key passed %.3f of its requests, want its share's %.3f", got, want)
	}
	if in := cellOf(r, "big").inflight.Load(); in != 0 {
		t.Errorf("big key's share has %d in flight after every ticket settled", in)
	}
	for range 200 {
		tk, d := a.AdmitKey("R", "s1", PriorityNormal)
		if !d.Allowed {
			t.Fatalf("a small key within its share refused: %v", d.Reason)
		}
		tk.Done(Success)
	}
	for range 200 {
		tk, d := a.AdmitKey("R", "big", PriorityCritical)
		if !d.Allowed {
			t.Fatalf("a critical request of the big key refused: %v", d.Reason)
		}
		tk.Done(Success)
	}
	if banned, _ := a.Banned("big"); banned {
		t.Fatal("the big key was banned for its volume")
	}
	s, _ := a.Snapshot("R")
	if s.Totals.Rejected.KeyShare != uint64(refused) || s.Totals.Rejected.For(ReasonKeyShare) != uint64(refused) {
		t.Errorf("Totals.Rejected.KeyShare %d, want %d", s.Totals.Rejected.KeyShare, refused)
	}
	if s.Totals.Decisions != s.Totals.Admitted+s.Totals.Rejected.Total() {
		t.Errorf("decisions %d ≠ admitted %d + rejected %d", s.Totals.Decisions, s.Totals.Admitted, s.Totals.Rejected.Total())
	}
}

// Requests without a key, or with a key that cannot be judged, count in
// one share of weight 1: however many they are, they cannot take a keyed
// tenant's share.
func TestKeyShareUnjudged(t *testing.T) {
	_, r := keyRoute(t, 20)
	ks := r.keys.Load()
	for _, k := range []string{"", "bad\x00key", string(make([]byte, MaxClientKeyLen+1)), "ünïcode"} {
		if c := ks.cell(k); c != &ks.cells[unjudgedCell] {
			t.Errorf("key %q is not in the unjudged share", k)
		}
	}
	rates := map[string]float64{"": 2000, "tenant": 100}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	if c := cellOf(r, "tenant"); !c.within.Load() {
		t.Errorf("a keyed tenant needing 5 of 18 calls is not within its share beside 2,000 unkeyed requests/s")
	}
	if p := passShare(&ks.cells[unjudgedCell]); p > 0.2 {
		t.Errorf("unkeyed traffic passes %.2f: it should be held to the share of one key", p)
	}
}

// The table holds the heavy keys: a heavy key that arrives after light
// ones have taken every slot gets one within a few ticks, and 1,000 keys
// sending one request each stay in the others' share.
func TestKeyTableHoldsHeavyKeys(t *testing.T) {
	_, r := keyRoute(t, 40)
	rates := map[string]float64{}
	for i := range 2 * keySlots {
		rates[fmt.Sprintf("light-%d", i)] = 10
	}
	for range 5 {
		offer(r, rates, 50, 1)
	}
	ks := r.keys.Load()
	if ks.free.Load() > 1 { // a key probes 4 slots from its home: one may stay out of reach
		t.Fatalf("%d slots free after 32 keys", ks.free.Load())
	}
	for i := range 1000 {
		rates[fmt.Sprintf("filler-%d", i)] = 10
	}
	rates["heavy"] = 500
	for range 100 {
		offer(r, rates, 50, 1)
	}
	if c := cellOf(r, "heavy"); c == &ks.cells[othersCell] {
		t.Fatal("a heavy key is still in the others' share after 100 ticks")
	}
	if n := ks.othersKeys; n < 500 || n > 1500 {
		t.Errorf("others' distinct keys estimated at %.0f, want about 1,000", n)
	}
}

// The shares switch off once the route has neither shed nor refused for
// keyQuietTicks, and every share is then uncapped.
func TestKeySharesSwitchOff(t *testing.T) {
	a, r := keyRoute(t, 20)
	rates := map[string]float64{"big": 240, "s1": 40}
	for range 10 {
		offer(r, rates, 50, 1)
	}
	ks := r.keys.Load()
	if !ks.on.Load() {
		t.Fatal("off while refusing")
	}
	for range keyQuietTicks {
		offer(r, rates, 50, 0)
	}
	if ks.on.Load() {
		t.Fatal("still on after a quiet stretch")
	}
	for range 100 {
		tk, d := a.AdmitKey("R", "big", PriorityNormal)
		if !d.Allowed || tk.cell != nil {
			t.Fatalf("a switched-off share still decides: %v, counted in a share %v", d.Reason, tk.cell != nil)
		}
		tk.Done(Success)
	}
}

// A keyed admission on a route whose key shares are in force allocates
// nothing (a key's first claim of a slot clones it once: the warm-up).
func TestKeyShareAdmitAllocs(t *testing.T) {
	a, r := keyRoute(t, 20)
	rates := map[string]float64{"big": 240, "s1": 40}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	h := a.Handle("R")
	for _, key := range []string{"big", "s1", "", "other-key"} {
		if n := testing.AllocsPerRun(1000, func() {
			tk, _ := h.AdmitKey(key, PriorityNormal)
			tk.Done(Success)
		}); n != 0 {
			t.Errorf("AdmitKey(%q) + Done with key shares on: %.1f allocs", key, n)
		}
	}
}

// BenchmarkAdmitKeyShares is a keyed admission and its Done on a route
// whose key shares are in force (the key within its share): the hash, the
// table's probe and the share's in-flight beside BenchmarkAdmitKeyDone.
func BenchmarkAdmitKeyShares(b *testing.B) {
	a, r := keyRoute(b, 20)
	rates := map[string]float64{"tenant-1": 40, "tenant-2": 40}
	for range 30 {
		offer(r, rates, 50, 1)
	}
	h := a.Handle("R")
	b.ReportAllocs()
	for b.Loop() {
		tk, _ := h.AdmitKey("tenant-1", PriorityNormal)
		tk.Done(Success)
	}
}
