package atrhttp_test

import (
	"net/http"
	"testing"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// canned answers every call at once, without a network: what is measured
// is the Transport's own cost.
type canned struct{ res http.Response }

func (c *canned) RoundTrip(*http.Request) (*http.Response, error) { return &c.res, nil }

func newCanned() *canned {
	return &canned{res: http.Response{StatusCode: http.StatusOK, Header: http.Header{}}}
}

// BenchmarkTransport measures a call through the bare base, through the
// Transport as before pushback (WithoutThrottling: admission and outcome
// only), and through the Transport as shipped (adaptive throttling on),
// and with retries on (the budget's count per call), in one run.
func BenchmarkTransport(b *testing.B) {
	a := atriontest.NewEngine(b, atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}))
	req, _ := http.NewRequest(http.MethodGet, "http://payments.internal:8443/x", nil)
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"bare", newCanned()},
		{"transport-no-throttle", atrhttp.Transport(a, newCanned(), atrhttp.WithoutThrottling())},
		{"transport", atrhttp.Transport(a, newCanned())},
		{"transport-retries", atrhttp.Transport(a, newCanned(), atrhttp.WithRetries(2))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.rt.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The Transport adds no allocation to a call, with throttling and with
// retries on (a call that is not retried).
func TestTransportAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, _ := adaptertest.Engine(t)
	req, _ := http.NewRequest(http.MethodGet, "http://payments.internal:8443/x", nil)
	for _, rt := range []http.RoundTripper{atrhttp.Transport(a, newCanned()), atrhttp.Transport(a, newCanned(), atrhttp.WithRetries(2))} {
		rt.RoundTrip(req) // the route's creation allocates once
		if n := testing.AllocsPerRun(500, func() { rt.RoundTrip(req) }); n != 0 {
			t.Errorf("Transport: %v allocs per call, want 0", n)
		}
	}
}
