// Package rig is the setup the benchmark packages share, so that every
// suite measures an engine prepared the same way.
package rig

import (
	"fmt"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// WarmRequests is how many requests Engine sends each route in the tick
// before a measurement: enough that every route counts as busy and times a
// sample of its requests rather than all of them, as it does in steady
// state under load.
const WarmRequests = 1000

// RouteIDs returns n route IDs shaped like an HTTP adapter's.
func RouteIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("GET /v1/items/%d", i)
	}
	return ids
}

// Engine returns an engine on the system clock with default settings,
// except that routes skip bootstrap (so every decision takes the
// OPERATIONAL path), and opts added. Every one of ids is tracked and busy:
// it served WarmRequests requests in a tick that has closed. The engine is
// closed when tb ends.
func Engine(tb testing.TB, ids []string, opts ...atrion.Option) *atrion.Atrion {
	tb.Helper()
	a := atriontest.NewEngine(tb, append([]atrion.Option{
		atrion.WithPhysics(atrion.PhysicsConfig{BootstrapTicks: atrion.NoBootstrap}),
	}, opts...)...)
	// The passes also let the route table's lock-free snapshot take in
	// every new route, so a measurement sees the steady-state lookup.
	for range WarmRequests {
		for _, id := range ids {
			AdmitDone(a, id)
		}
	}
	// close the busy tick: ticks close at the first request after their end
	time.Sleep(a.Tick() + 20*time.Millisecond)
	for _, id := range ids {
		AdmitDone(a, id)
	}
	return a
}

// AdmitDone is Atrion's unit of work: admit one request on route id and
// report that it succeeded. It returns false when the request was rejected.
func AdmitDone(a *atrion.Atrion, id string) bool {
	t, d := a.Admit(id, atrion.PriorityNormal)
	if !d.Allowed {
		return false
	}
	t.Done(atrion.Success)
	return true
}
