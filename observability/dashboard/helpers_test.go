package atrdash

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// newEngine returns an engine on a manual clock that trips in a couple of
// dozen failing ticks and heals fast.
func newEngine(t testing.TB, opts ...atrion.Option) (*atrion.Atrion, *atrion.ManualClock) {
	t.Helper()
	clk := atrion.NewManualClock(time.Unix(1_700_000_000, 0))
	base := []atrion.Option{
		atrion.WithClock(clk),
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
	}
	a, err := atrion.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a, clk
}

// traffic sends n requests of class c on route, then closes the tick.
func traffic(a *atrion.Atrion, clk *atrion.ManualClock, route string, n int, c atrion.Class) {
	for range n {
		if tk, d := a.Admit(route, atrion.PriorityNormal); d.Allowed {
			tk.Done(c)
		}
	}
	clk.Advance(100 * time.Millisecond)
}

// trip fails route until its circuit opens (at most 100 ticks).
func trip(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, route string) {
	t.Helper()
	for range 100 {
		traffic(a, clk, route, 5, atrion.Failure)
		if s, _ := a.Snapshot(route); s.Mode == atrion.ModeCircuitOpen {
			return
		}
	}
	t.Fatalf("%s did not open in 100 failing ticks", route)
}

// serve starts d on a loopback test server.
func serve(t testing.TB, d *Dashboard) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close()
		srv.Close()
	})
	return srv
}

// serveB is serve for benchmarks, returning the base URL.
func serveB(b *testing.B, d *Dashboard) string { return serve(b, d).URL }
