package hop

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	atrion "github.com/atrion-go/atrion/core"
)

// State is what an inbound adapter knows of a request that its outbound
// adapters (atrhttp.Transport, atrgrpc's client interceptors) need: the
// priority and client key to propagate, and whether an outbound call was
// refused (shed or throttled locally, or pushed back by the server), so
// that the request's own failure is not counted against its route.
type State struct {
	Priority atrion.Priority
	Key      string
	relayed  atomic.Bool
}

// MarkRelayed records that an outbound call of the request was refused.
func (s *State) MarkRelayed() { s.relayed.Store(true) }

// Relayed reports whether an outbound call of the request was refused.
func (s *State) Relayed() bool { return s.relayed.Load() }

// stateContext carries a State; its own type, as core's decisionContext,
// so that carrying one costs one allocation.
type stateContext struct {
	context.Context
	s State
}

type stateKey struct{}

// Value returns the State for its key, and asks the parent for any other.
func (c *stateContext) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return &c.s
	}
	return c.Context.Value(key)
}

// String names the context as the context package's own types do.
func (c *stateContext) String() string { return "hop.WithState" }

// WithState returns a copy of ctx carrying a new State for priority p and
// client key.
func WithState(ctx context.Context, p atrion.Priority, key string) (context.Context, *State) {
	c := &stateContext{Context: ctx}
	c.s.Priority, c.s.Key = p, key
	return c, &c.s
}

// From returns the innermost State in ctx, nil when there is none. It
// does not allocate.
func From(ctx context.Context) *State {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(stateKey{}).(*State)
	return s
}

// MarkRelayed marks ctx's State, if any, as having had an outbound call
// refused.
func MarkRelayed(ctx context.Context) {
	if s := From(ctx); s != nil {
		s.MarkRelayed()
	}
}

// RelayedStatus reports whether an HTTP status that a handler answered
// with relays an outbound call's refusal recorded in ctx: 429, 502 or 503
// once an outbound call of the request was refused. Such an answer is the
// dependency's state, not the relaying route's failure.
func RelayedStatus(ctx context.Context, status int) bool {
	if status != 429 && status != 502 && status != 503 {
		return false
	}
	s := From(ctx)
	return s != nil && s.Relayed()
}

// engines maps an engine to its switch: on once an outbound adapter
// (atrhttp.Transport, an atrgrpc client interceptor) guards calls with
// it, when inbound adapters start to put a State in each request's
// context. A service that calls nothing through Atrion pays nothing.
var engines sync.Map // weak.Pointer[atrion.Atrion] → *atomic.Bool

// Switch returns engine a's switch. An engine that is collected leaves
// the map.
func Switch(a *atrion.Atrion) *atomic.Bool {
	k := weak.Make(a)
	if v, ok := engines.Load(k); ok {
		return v.(*atomic.Bool)
	}
	v, loaded := engines.LoadOrStore(k, new(atomic.Bool))
	if !loaded {
		runtime.AddCleanup(a, func(k weak.Pointer[atrion.Atrion]) { engines.Delete(k) }, k)
	}
	return v.(*atomic.Bool)
}
