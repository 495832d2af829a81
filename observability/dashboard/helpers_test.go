package atrdash

import (
	"net/http/httptest"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/observability/internal/obstest"
)

// newEngine returns obstest's engine, on a manual clock, whose routes skip
// bootstrap and decide on the static points.
func newEngine(t testing.TB, opts ...atrion.Option) (*atrion.Atrion, *atrion.ManualClock) {
	t.Helper()
	r := obstest.New(t, opts...)
	return r.A, r.Clk
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
