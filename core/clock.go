package atrion

import (
	"sync/atomic"
	"time"
)

// Clock tells the engine the time. The default is the system's monotonic
// clock; tests and simulators use a ManualClock.
type Clock interface {
	Now() time.Time
}

// ManualClock is a Clock that moves only when told to. It is safe for
// concurrent use. With a manual clock every tick closes deterministically,
// so tests and the Wind Tunnel reproduce the same numbers every run.
type ManualClock struct {
	start time.Time
	ns    atomic.Int64 // nanoseconds since start
}

// NewManualClock returns a manual clock that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{start: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time { return c.start.Add(time.Duration(c.ns.Load())) }

// Advance moves the clock forward by d; a negative d is ignored (time never
// runs backwards).
func (c *ManualClock) Advance(d time.Duration) {
	if d > 0 {
		c.ns.Add(int64(d))
	}
}

// clockKind selects the engine's fast path for reading time.
type clockKind uint8

const (
	clockSystem clockKind = iota
	clockManual
	clockCustom
)

// engineClock reads time as nanoseconds since the engine's epoch. The
// precise reading times requests; the coarse one only decides tick
// boundaries, so for the system clock it is a value refreshed in the
// background rather than a clock read per request.
type engineClock struct {
	kind   clockKind
	epoch  time.Time
	manual *ManualClock
	custom Clock
	offset int64        // manual: its ns at the epoch
	coarse atomic.Int64 // system: refreshed by run
}

func newEngineClock(c Clock) *engineClock {
	ec := &engineClock{}
	switch m := c.(type) {
	case nil:
		ec.kind = clockSystem
		ec.epoch = time.Now()
	case *ManualClock:
		ec.kind = clockManual
		ec.manual = m
		ec.offset = m.ns.Load()
		ec.epoch = m.Now()
	default:
		ec.kind = clockCustom
		ec.custom = c
		ec.epoch = c.Now()
	}
	return ec
}

// now is the precise time in ns since the epoch.
func (c *engineClock) now() int64 {
	switch c.kind {
	case clockSystem:
		return int64(time.Since(c.epoch))
	case clockManual:
		return c.manual.ns.Load() - c.offset
	default:
		return int64(c.custom.Now().Sub(c.epoch))
	}
}

// coarseNow is good enough to decide tick boundaries.
func (c *engineClock) coarseNow() int64 {
	if c.kind == clockSystem {
		return c.coarse.Load()
	}
	return c.now()
}

// wall converts engine time to a time.Time.
func (c *engineClock) wall(ns int64) time.Time { return c.epoch.Add(time.Duration(ns)) }

// run refreshes the coarse clock every res until stop is closed.
func (c *engineClock) run(res time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(res)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.coarse.Store(c.now())
		}
	}
}
