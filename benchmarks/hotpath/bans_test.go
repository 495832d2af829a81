package hotpath

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	atrion "github.com/atrion-go/atrion/core"
)

// clientKeys are the keys the keyed subjects cycle through, as requests
// from a hundred clients would.
var clientKeys = func() []string {
	ks := make([]string, 100)
	for i := range ks {
		ks[i] = fmt.Sprintf("tenant-%03d", i)
	}
	return ks
}()

// banEngine is an engine as rig.Engine sets it up, with bans other keys
// banned (none of clientKeys).
func banEngine(tb testing.TB, bans int) *atrion.Atrion {
	a := rig.Engine(tb, rig.RouteIDs(1))
	for i := range bans {
		if err := a.Ban(fmt.Sprintf("bot-%04d", i), time.Hour); err != nil {
			tb.Fatal(err)
		}
	}
	return a
}

// setupAtrionKey measures Handle.AdmitKey + Done with a client key: the
// ban check, the admission, and the key's evidence, with bans other keys
// banned.
func setupAtrionKey(tb testing.TB, bans int) work {
	a := banEngine(tb, bans)
	h := a.Handle(rig.RouteIDs(1)[0])
	return func(i int) bool {
		t, d := h.AdmitKey(clientKeys[i%len(clientKeys)], atrion.PriorityNormal)
		if !d.Allowed {
			return false
		}
		t.Done(atrion.Success)
		return true
	}
}

// BenchmarkBanCheck measures Atrion.Banned alone: with no ban held (SPEC
// budget ≤ 20 ns, 0 allocs), and with 1,000 bans for a key that is not
// banned and one that is. Its floor is one atomic pointer load and a nil
// check, what the check costs at least.
func BenchmarkBanCheck(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		var p atomic.Pointer[map[string]int]
		n := 0
		for b.Loop() {
			if m := p.Load(); m != nil {
				n++
			}
		}
		_ = n
	})
	for _, c := range []struct {
		name string
		bans int
		key  string
	}{{"atrion", 0, "tenant-001"}, {"1000bans-miss", 1000, "tenant-001"}, {"1000bans-hit", 1000, "bot-0500"}} {
		b.Run(c.name, func(b *testing.B) {
			a := banEngine(b, c.bans)
			b.ReportAllocs()
			hits := 0
			for b.Loop() {
				if banned, _ := a.Banned(c.key); banned {
					hits++
				}
			}
			b.ReportMetric(float64(hits)/float64(max(b.N, 1)), "banned/op")
		})
	}
}
