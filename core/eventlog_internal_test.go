package atrion

import "sync"

// eventLog is an observer that keeps every event, for this package's own
// tests (the ready-made sink.Collector imports this package, so they cannot
// use it).
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

// OnUpdate keeps e.
func (l *eventLog) OnUpdate(e Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

// Events returns a copy of the events so far, oldest first.
func (l *eventLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}
