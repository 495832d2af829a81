package atrdash

import (
	"net/http/httptest"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// newEngine returns an engine on a manual clock whose routes skip
// bootstrap and decide on the static points.
func newEngine(t testing.TB, opts ...atrion.Option) (*atrion.Atrion, *atrion.ManualClock) {
	t.Helper()
	return atriontest.New(t, append([]atrion.Option{
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}),
		atrion.WithAutoTuner(atrion.AutoTunerConfig{Disabled: true}),
	}, opts...)...)
}

// traffic sends n requests of class c on route, then closes the tick.
func traffic(a *atrion.Atrion, clk *atrion.ManualClock, route string, n int, c atrion.Class) {
	atriontest.Send(a, route, n, c)
	clk.Advance(a.Tick())
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
