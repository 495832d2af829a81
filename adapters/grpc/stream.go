package atrgrpc

import (
	"sync"
	"sync/atomic"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// streamTimer measures a stream's time to first response (package doc):
// from the last input before the first response, or the start, to that
// response. input and output may be called from the stream's sending and
// receiving goroutines at once; after the first response they cost one
// atomic load.
type streamTimer struct {
	a         *atrion.Atrion // its clock, so a manual clock times streams too
	responded atomic.Bool
	mu        sync.Mutex
	from      time.Time     // the start or the last input; behind mu
	latency   time.Duration // set with responded; behind mu
}

func (s *streamTimer) start(a *atrion.Atrion) {
	s.a = a
	s.from = a.Now()
}

// input marks a message from the other side (or the end of its messages).
func (s *streamTimer) input() {
	if s.responded.Load() {
		return
	}
	now := s.a.Now()
	s.mu.Lock()
	if !s.responded.Load() && now.After(s.from) {
		s.from = now
	}
	s.mu.Unlock()
}

// output marks a response; the first one fixes the latency.
func (s *streamTimer) output() {
	if s.responded.Load() {
		return
	}
	now := s.a.Now()
	s.mu.Lock()
	if !s.responded.Load() {
		s.latency = max(0, now.Sub(s.from))
		s.responded.Store(true)
	}
	s.mu.Unlock()
}

// elapsed returns the stream's latency: the time to its first response,
// or for a stream that ended without one, from its last input to now.
func (s *streamTimer) elapsed() time.Duration {
	now := s.a.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.responded.Load() {
		return s.latency
	}
	return max(0, now.Sub(s.from))
}

// doneStream records a finished stream on t's route with the timer's
// latency (time to first response) rather than the stream's duration. An
// ignored outcome carries no latency.
func doneStream(t *atrion.KeyTicket, class atrion.Class, s *streamTimer) {
	if class == atrion.Ignored {
		t.Done(atrion.Ignored)
		return
	}
	t.DoneLatency(class, s.elapsed())
}
