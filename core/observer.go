package atrion

// The Observer interface: what the engine tells about its routes. The
// ready-made observers are in package sink.

// Observer receives route events. Each observer given to WithObserver is
// called from a background goroutine of its own, once per route tick and
// once per transition, never per request, with events in order. A panic
// is recovered and counted; a slow observer misses events (counted
// against it, Stats.Observers), never makes the engine wait, and never
// delays the other observers.
type Observer interface {
	OnUpdate(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// OnUpdate calls f(e).
func (f ObserverFunc) OnUpdate(e Event) { f(e) }
