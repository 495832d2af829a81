package atrion

import (
	"math"
	"time"
)

// This file holds the mode machine (SPEC §2, §3.2–3.4) and the graded
// shedding that turns R into a rejection share.

// transition decides a route's next mode after a tick.
//   - OPERATIONAL → CIRCUIT_OPEN when R ≥ break.
//   - CIRCUIT_OPEN → RECOVERING when R < recovery and ‖P⁺‖ < P_crit (the
//     recovery clause uses the check valve, not the signed norm).
//   - RECOVERING → CIRCUIT_OPEN at once on a trauma tick or R ≥ break;
//     → OPERATIONAL after recoveryTicks ticks without trauma.
//
// rampStep counts RECOVERING's healthy ticks.
func transition(m Mode, res *stepResult, brk, rec float64, pCrit float64, recoveryTicks int, rampStep *int) Mode {
	switch m {
	case ModeOperational:
		if res.resistance >= brk {
			return ModeCircuitOpen
		}
	case ModeCircuitOpen:
		if res.resistance < rec && res.posNrm < pCrit {
			*rampStep = 0
			return ModeRecovering
		}
	case ModeRecovering:
		if res.trauma || res.resistance >= brk {
			return ModeCircuitOpen
		}
		*rampStep++
		if *rampStep >= recoveryTicks {
			return ModeOperational
		}
	}
	return m
}

// shedBands are the bands of graded shedding per priority index (critical,
// high, normal, low, bulk): the share shed grows linearly from 0 at lo to
// max at hi, lo and hi being fractions of the way from R_base to the break
// point. See the Priority constants.
var shedBands = [5]struct{ lo, hi, max float64 }{
	{2, 2, 0},      // critical: never by shedding
	{0.85, 1, 0.5}, // high
	{0.6, 1, 0.9},  // normal
	{0.4, 0.8, 1},  // low
	{0.25, 0.6, 1}, // bulk
}

// shedShares returns the share of each priority to reject in mode m.
// ramp is RECOVERING's admitted share of normal traffic.
func shedShares(m Mode, r, baseR, brk, ramp float64) (s [5]float64) {
	switch m {
	case ModeCircuitOpen:
		for i := range s {
			s[i] = 1
		}
	case ModeRecovering:
		s[1] = 1 - math.Min(1, 2*ramp)
		s[2] = 1 - ramp
		s[3] = 1 - ramp*ramp
		s[4] = s[3]
	case ModeOperational:
		span := brk - baseR
		if span <= 0 {
			return s
		}
		x := (r - baseR) / span
		for i, b := range shedBands {
			if x <= b.lo || b.max == 0 {
				continue
			}
			f := 1.0
			if b.hi > b.lo {
				f = math.Min(1, (x-b.lo)/(b.hi-b.lo))
			}
			s[i] = f * b.max
		}
	}
	return s
}

// rampShare is RECOVERING's admitted share after step healthy ticks of n:
// from 10 % up to all of it.
func rampShare(step, n int) float64 {
	if n <= 0 {
		return 1
	}
	return math.Min(1, 0.1+0.9*float64(step)/float64(n))
}

// retryAfter estimates when a rejected caller should come back. For an open
// circuit: the time for scar to heal R down to the recovery point
// (S·e^(−λt) = S − (R − recovery)), bounded to [tick, 5 min]; otherwise a
// few ticks.
func retryAfter(m Mode, r, scar, rec, lambda float64, tick time.Duration) time.Duration {
	lo, hi := tick, 5*time.Minute
	if m != ModeCircuitOpen {
		return min(max(10*tick, time.Second), hi)
	}
	need := scar - (r - rec)
	if scar <= 0 || lambda <= 0 {
		return hi
	}
	if need <= 0 {
		need = scar * 1e-3
	}
	t := time.Duration(math.Log(scar/need) / lambda * float64(time.Second))
	if t < lo || math.IsNaN(float64(t)) {
		return lo
	}
	if t > hi {
		return hi
	}
	return t
}
