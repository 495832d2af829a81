package atrdash

import (
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// DefaultTransitions is how many recent transitions a Recorder keeps.
const DefaultTransitions = 50

// Transition is one mode change of a route.
type Transition struct {
	Time       time.Time `json:"time"`
	Route      string    `json:"route"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Resistance float64   `json:"r"`
	Scar       float64   `json:"scar"`
}

// Recorder is an atrion.Observer that keeps a route's recent mode
// transitions for the dashboard and wakes its stream when one happens.
// Tick events are ignored. OnUpdate takes one short lock and never waits,
// so it never holds up the engine's observer goroutine. It is safe for
// concurrent use; one Recorder may serve several dashboards.
type Recorder struct {
	mu      sync.Mutex
	ring    []Transition
	next    int // ring write position
	full    bool
	changed chan struct{} // closed and replaced on every transition
}

// NewRecorder returns a Recorder that keeps the last n transitions
// (n ≤ 0: DefaultTransitions; at most 1,000).
func NewRecorder(n int) *Recorder {
	if n <= 0 {
		n = DefaultTransitions
	}
	n = min(n, 1000)
	return &Recorder{ring: make([]Transition, n), changed: make(chan struct{})}
}

// OnUpdate records e when it is a transition.
func (r *Recorder) OnUpdate(e atrion.Event) {
	if e.Kind != atrion.EventTransition {
		return
	}
	r.add(Transition{
		Time: e.Time, Route: e.Route, From: e.From.String(), To: e.To.String(),
		Resistance: num(e.Resistance), Scar: num(e.Scar),
	})
}

func (r *Recorder) add(t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = t
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Transitions returns the kept transitions, newest first.
func (r *Recorder) Transitions() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	out := make([]Transition, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// wait returns a channel that is closed at the next transition.
func (r *Recorder) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}
