package atrion

import (
	"context"
	"time"
)

// PhysicsVector is a route's shareable physics state.
type PhysicsVector struct {
	Route      string
	Scar       float64
	Momentum   float64
	Resistance float64
	Mode       Mode
	Tick       uint64    // ticks with samples the route has run on its node
	UpdatedAt  time.Time // when the evidence behind it was seen: its node's own (trauma, mode change), or the adopted peer vector's when adopted scar outweighs the node's own
	NodeID     string    // the node that wrote it
}

// Valid reports whether every field is usable: finite, non-negative
// physics, a known mode and a route ID of acceptable length.
func (v PhysicsVector) Valid() bool {
	return v.Route != "" && len(v.Route) <= MaxRouteIDLen && v.Mode.Valid() &&
		finite(v.Scar) && v.Scar >= 0 && finite(v.Momentum) && v.Momentum >= 0 &&
		finite(v.Resistance) && v.Resistance >= 0
}

// StateProvider stores route state where other instances can see it. The
// engine calls it only from background goroutines, with deadlines; its
// errors are counted and logged, and decisions continue locally.
type StateProvider interface {
	Get(ctx context.Context, route string) (PhysicsVector, bool, error)
	Set(ctx context.Context, v PhysicsVector) error
	Delete(ctx context.Context, route string) error
	Keys(ctx context.Context) ([]string, error)
}

// BatchSetter is implemented by providers that can store many vectors in
// one round trip; the engine then publishes each tick's news in one call.
// SetBatch must not keep vs after it returns: the engine reuses it.
type BatchSetter interface {
	SetBatch(ctx context.Context, vs []PhysicsVector) error
}

// PageReader is implemented by providers that can read their stored
// vectors a page at a time; the engine's periodic resync then reads a page
// per call, each under its own deadline, instead of listing every key in
// one call. ReadPage returns the vectors of the page at cursor ("" starts
// a pass) and the cursor of the next page, "" when the pass is complete.
// A cursor stays valid across calls, so a pass interrupted by an error
// resumes where it stopped; a vector may be read twice in one pass.
type PageReader interface {
	ReadPage(ctx context.Context, cursor string) (vs []PhysicsVector, next string, err error)
}

// Expiring is implemented by providers whose stored vectors expire. The
// engine publishes a route only when its vector has news, so a route whose
// last vector said something (a scar, an open circuit) is published again
// every third of TTL while it is active, and its stored vector never
// expires under it. Without it the engine assumes a TTL of a minute.
type Expiring interface {
	TTL() time.Duration
}

// Subscriber is implemented by providers that push peers' updates. Subscribe
// calls fn for each peer vector until ctx is cancelled; it must not block.
type Subscriber interface {
	Subscribe(ctx context.Context, fn func(PhysicsVector)) error
}

// Merger is implemented by providers that choose how a peer's vector folds
// into local state; without it the engine uses MergeLastWriterWins.
type Merger interface {
	Merge(local, remote PhysicsVector) PhysicsVector
}

// MergeLastWriterWins takes the vector with the newer evidence. A vector's
// UpdatedAt moves only on new evidence — a trauma tick or a mode change on
// its node, or the adopted peer vector's time while adopted scar outweighs
// the node's own — never on a quiet healthy tick, so busy healthy peers
// cannot erase a failing node's scar, and a node never relays a peer's
// state as newer than it is. Ties keep the local vector.
func MergeLastWriterWins(local, remote PhysicsVector) PhysicsVector {
	if remote.UpdatedAt.After(local.UpdatedAt) {
		return remote
	}
	return local
}

// MergeMaxScar keeps the larger scar: trouble anywhere counts everywhere.
func MergeMaxScar(local, remote PhysicsVector) PhysicsVector {
	if remote.Scar > local.Scar {
		local.Scar = remote.Scar
	}
	return local
}

// MergeGamma blends scar: S = γ·S_remote + (1−γ)·S_local. γ is clamped to
// [0, 1]; SPEC §6 suggests 0.3.
func MergeGamma(gamma float64) func(local, remote PhysicsVector) PhysicsVector {
	if !(gamma >= 0) {
		gamma = 0
	}
	if gamma > 1 {
		gamma = 1
	}
	return func(local, remote PhysicsVector) PhysicsVector {
		local.Scar = gamma*remote.Scar + (1-gamma)*local.Scar
		return local
	}
}
