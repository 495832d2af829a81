package law

import (
	"math"
	"time"
)

// This file is the failure half of the control law: the mode machine
// (SPEC §2, §3.2–3.4 and the controller view), BOOTSTRAP included, and
// what each mode admits.
//
//	BOOTSTRAP ──bootstrap ticks──▶ OPERATIONAL ◀──ramp done── RECOVERING
//	    │                              │                       ▲    │
//	    └──certain failure──▶ CIRCUIT_OPEN ◀─failing evidence──┼────┘
//	                                   └──min open time, then a
//	                                      good probe or healed R──┘
//
// A circuit opens on failure evidence only: latency and saturation raise
// R, which stays visible, but overload is the in-flight limit's business
// (limiter.go).

// Mode is a route's operating mode, as the mode machine keeps it; the
// engine's public Mode has the same values.
type Mode uint32

// The modes, in the engine's order.
const (
	ModeBootstrap Mode = iota
	ModeOperational
	ModeRecovering
	ModeCircuitOpen
)

// Circuit defaults.
const (
	probeTicks    = 5   // an open circuit admits one probe every probeTicks ticks at most...
	minProbeTicks = 2   // ...and every minProbeTicks ticks at least, while a probe stays a small share of its calls (probeSpacing)
	probeShare    = 20  // a probe is at most one call in this many of a busy route's
	healProbes    = 3   // good probe ticks in a row that heal an open circuit before its minimum open time
	failRunCalls  = 6   // failed calls in a row, none succeeding between them, that are clear failure evidence (gobreaker trips after 6)...
	failRunTicks  = 3   // ...over at least this many ticks, so one unlucky tick of a busy route is no run
	minOpenTicks  = 10  // an open circuit stays open at least this long (a second by default)...
	maxOpenTicks  = 300 // ...doubling with each failed recovery, up to this
	calmTicks     = 100 // OPERATIONAL this long (not reopened) forgives one doubling
	rampFullTicks = 4   // healthy RECOVERING ticks after which the ramp admits all normal traffic (rampShares: 0.1·2⁴ ≥ 1)
)

// circuit is a route's mode machine. Not safe for concurrent use; the
// route's lock guards it.
type circuit struct {
	Mode       Mode
	backoff    int16 // recoveries that failed since the route last stayed calm
	probeEvery int16 // CIRCUIT_OPEN: ticks between probes, from the route's traffic (probeSpacing)
	Since      int64 // when mode was entered, engine ns
	minOpen    time.Duration
	calm       int64       // OPERATIONAL since, or since the last forgiven doubling, engine ns
	ramp       int32       // RECOVERING's healthy ticks so far
	failRun    float32     // failed calls since the last tick with a success (failing)
	goodProbes int16       // CIRCUIT_OPEN: probe ticks in a row whose calls all succeeded
	failTicks  int16       // ticks of failRun: ticks with failures and no success, in a row
	rec        errorWindow // RECOVERING's own calls, undecayed: fresh evidence
	failAt     int64       // CIRCUIT_OPEN: the last tick a call (a probe) failed
}

// tickFacts is what one closed tick tells the mode machine.
type tickFacts struct {
	end                       int64 // the tick's end, engine ns
	tick                      time.Duration
	bootDone                  bool // this tick completes BOOTSTRAP
	res                       *stepResult
	breakPoint, recoveryPoint float64      // points in force, learned before this tick
	win                       *errorWindow // the route's short window, this tick included
	fast                      *errorWindow // the same over the last ticks only
	calls                     float64      // calls with an outcome in this tick...
	fails                     float64      // ...and how many of them failed
	peerOpen                  bool         // a peer's open circuit was adopted: its failure evidence
}

// next runs the mode machine for one tick and returns the mode it was in.
func (c *circuit) next(f *tickFacts, p *Params) (from Mode) {
	from = c.Mode
	switch {
	case f.calls > f.fails:
		c.failRun, c.failTicks = 0, 0
	case f.fails > 0:
		c.failRun += float32(f.fails)
		c.failTicks = min(c.failTicks+1, math.MaxInt16)
	}
	switch c.Mode {
	case ModeBootstrap:
		switch {
		case f.fast.Certain():
			c.open(f.end, f.tick)
		case f.bootDone && c.failing(f) && f.res.resistance >= f.breakPoint:
			c.open(f.end, f.tick)
		case f.bootDone:
			c.set(ModeOperational, f.end)
		}
	case ModeOperational:
		if f.fast.Certain() || ((c.failing(f) || f.peerOpen) && f.res.resistance >= f.breakPoint) {
			c.open(f.end, f.tick)
			break
		}
		if c.backoff > 0 && f.end-c.calm >= calmTicks*int64(f.tick) {
			c.backoff-- // a recovery that held forgives a doubling
			c.calm = f.end
		}
	case ModeCircuitOpen:
		// a good probe heals, and so does time alone (R below the
		// recovery point by the check valve, not ‖P‖) once no probe has
		// failed for a probe interval; a run of good probes heals before
		// the minimum open time, which guards against a dependency whose
		// probes fail, not one whose probes keep succeeding
		probed := f.calls > 0 && f.fails == 0
		switch {
		case f.fails > 0:
			c.failAt = f.end
			c.goodProbes = 0
		case probed:
			c.goodProbes++
		}
		quiet := f.end-c.failAt > probeTicks*int64(f.tick)
		healed := quiet && f.res.resistance < f.recoveryPoint && f.res.posNrm < p.PCrit
		if (f.end-c.Since >= int64(c.minOpen) && (probed || healed)) || c.goodProbes >= healProbes {
			c.set(ModeRecovering, f.end)
		}
	case ModeRecovering:
		// isolated noise is tolerated: only nearly all calls failing reopens
		c.rec.Calls += f.calls
		c.rec.Fails += f.fails
		if c.rec.Failing() || c.rec.Certain() {
			c.open(f.end, f.tick)
			break
		}
		if f.fails == 0 || f.fails < failingRate*f.calls {
			c.ramp++
		}
		if int(c.ramp) >= p.Recovery {
			c.set(ModeOperational, f.end)
		}
	}
	return from
}

// failing is the failure evidence that opens a circuit once R is past its
// break: nearly all of the short window's calls failed, or a run of
// failRunCalls calls over failRunTicks ticks failed with none succeeding
// between them. The run speaks first on a quiet route, whose healthy calls
// of the last second still dilute the window (a route at 10 calls/s opened
// after 17 failures on the window alone); isolated failures never make a
// run, and a busy route's noisy tick is not one.
func (c *circuit) failing(f *tickFacts) bool {
	return f.win.Failing() || (c.failRun >= failRunCalls && c.failTicks >= failRunTicks)
}

// set is the one place a mode changes.
func (c *circuit) set(m Mode, now int64) {
	c.Mode, c.Since = m, now
	switch m {
	case ModeOperational:
		c.calm = now
	case ModeRecovering:
		c.ramp, c.rec = 0, errorWindow{}
	case ModeCircuitOpen:
		c.goodProbes = 0
	}
}

// open opens the circuit with a minimum open time that doubles with each
// recovery that failed since the route was last calm.
func (c *circuit) open(now int64, tick time.Duration) {
	if c.Mode == ModeRecovering {
		c.backoff = min(c.backoff+1, 8)
	}
	c.minOpen = min(maxOpenTicks*tick, (minOpenTicks*tick)<<c.backoff)
	c.failAt = now
	c.set(ModeCircuitOpen, now)
}

// probeSpacing is the ticks between an open circuit's probes for a route
// that saw decisions requests in its last tick: a busy route probes every
// minProbeTicks ticks, so it sees a dependency come back within a fifth
// of a second, while a probe stays at most one call in probeShare of the
// route's; a quiet route probes every probeTicks ticks.
func probeSpacing(decisions uint64) int16 {
	if decisions == 0 {
		return probeTicks
	}
	return int16(min(probeTicks, max(minProbeTicks, math.Ceil(probeShare/float64(decisions)))))
}

// windupScar is the most scar an open circuit keeps from its probes'
// trauma (anti-windup: the actuator is saturated, so trauma stops piling
// up beyond what keeps the circuit open, and the time to heal does not
// grow with the incident's length).
func windupScar(breakPoint, baseR float64) float64 { return math.Max(0, breakPoint-baseR) }

// rampShares returns the share of each priority RECOVERING rejects after
// step healthy ticks of n: normal traffic is admitted from 10 % up to all
// of it, high traffic twice that, low and bulk its square; critical
// traffic passes.
func rampShares(step, n int) (s [5]float64) {
	ramp := 1.0
	if n > 0 {
		// slow start: each healthy tick doubles the share admitted, so a
		// dependency that answers every call is back at full service in
		// a few ticks, while one that fails again meets a small share
		// (RECOVERING reopens on its failing calls)
		ramp = math.Min(1, 0.1*math.Exp2(float64(step)))
	}
	s[1] = 1 - math.Min(1, 2*ramp)
	s[2] = 1 - ramp
	s[3] = 1 - ramp*ramp
	s[4] = s[3]
	return s
}

// RetryAfter estimates when a rejected caller should come back: for an
// open circuit, when its minimum open time ends (at least a tick, at most
// 5 min); otherwise in a second.
func (c *circuit) RetryAfter(now int64, tick time.Duration) time.Duration {
	if c.Mode != ModeCircuitOpen {
		return max(10*tick, time.Second)
	}
	left := time.Duration(c.Since + int64(c.minOpen) - now)
	return min(max(left, tick), 5*time.Minute)
}
