package atrion

import (
	"errors"
	"strconv"
	"time"
)

// Mode is a route's operating mode.
type Mode uint32

// The modes of a route. A route starts in ModeBootstrap, learns for its
// bootstrap ticks, then runs OPERATIONAL; it opens on failure evidence once
// R breaks through the break point, heals by probes or with time, ramps
// back in RECOVERING and returns to OPERATIONAL after a run of healthy
// ticks.
const (
	ModeBootstrap   Mode = iota // learning; R held at 1.2 × R_base
	ModeOperational             // normal operation; the in-flight limit sheds overload
	ModeRecovering              // half-open: a growing share of traffic is admitted
	ModeCircuitOpen             // every request is rejected but a probe every few ticks
)

var modeNames = [...]string{"BOOTSTRAP", "OPERATIONAL", "RECOVERING", "CIRCUIT_OPEN"}

// String returns BOOTSTRAP, OPERATIONAL, RECOVERING or CIRCUIT_OPEN.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Valid reports whether m is one of the four modes.
func (m Mode) Valid() bool { return m <= ModeCircuitOpen }

// MarshalText returns the mode's name, as String, so that JSON and other
// text encodings show "CIRCUIT_OPEN" rather than 3. A mode that is not
// one of the four is an error.
func (m Mode) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, errors.New("atrion: invalid mode " + strconv.Itoa(int(m)))
	}
	return []byte(modeNames[m]), nil
}

// UnmarshalText reads a mode's name as MarshalText writes it.
func (m *Mode) UnmarshalText(b []byte) error {
	i, ok := nameIndex(modeNames[:], b)
	if !ok {
		return errors.New("atrion: unknown mode " + strconv.Quote(string(b)))
	}
	*m = Mode(i)
	return nil
}

// nameIndex returns the index of the name b in names.
func nameIndex(names []string, b []byte) (int, bool) {
	for i, n := range names {
		if string(b) == n {
			return i, true
		}
	}
	return 0, false
}

// Priority ranks a request for shedding. Lower priorities are shed
// first; the zero value is PriorityNormal.
type Priority int8

// Priorities, from most to least important. Each may fill a share of the
// route's in-flight limit, and sheds a growing share of its requests over
// the last tenth of it (graded, not a cliff):
//   - PriorityBulk is shed first: from 54 % to 60 % of the limit in flight;
//   - PriorityLow: from 67.5 % to 75 %;
//   - PriorityNormal: from 81 % to 90 %;
//   - PriorityHigh: from 90 % to all of it;
//   - PriorityCritical is shed last, from 180 % to 200 % of the limit in
//     flight, long after everything else: it is served throughout overload
//     while it fits the service, and queues no further when it alone does
//     not.
//
// An open circuit rejects every priority but its probe. In RECOVERING,
// critical traffic passes, high traffic gets twice the ramp's share, normal
// the ramp's share, and low and bulk its square.
const (
	PriorityCritical Priority = -2
	PriorityHigh     Priority = -1
	PriorityNormal   Priority = 0
	PriorityLow      Priority = 1
	PriorityBulk     Priority = 2
)

// index maps a priority to 0..4, clamping out-of-range values to the
// nearest valid priority.
func (p Priority) index() int {
	i := int(p) + 2
	if i < 0 {
		return 0
	}
	if i > 4 {
		return 4
	}
	return i
}

var priorityNames = [...]string{"critical", "high", "normal", "low", "bulk"}

// String returns critical, high, normal, low or bulk.
func (p Priority) String() string { return priorityNames[p.index()] }

// ParsePriority reads a priority name (as printed by String, case-sensitive)
// or its number (-2..2). ok is false for anything else.
func ParsePriority(s string) (p Priority, ok bool) {
	for i, n := range priorityNames {
		if s == n {
			return Priority(i - 2), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= -2 && n <= 2 {
		return Priority(n), true
	}
	return PriorityNormal, false
}

// Reason says why a decision was made.
type Reason uint8

// Decision reasons.
const (
	ReasonAdmitted    Reason = iota // admitted
	ReasonCircuitOpen               // rejected: the circuit is open
	ReasonShed                      // rejected: the route's in-flight limit (by priority)
	ReasonRecovering                // rejected: outside the recovery ramp's share
	ReasonVoltage                   // rejected: the voltage did not beat the resistance (Route)
	numReasons
)

var reasonNames = [...]string{"admitted", "circuit_open", "shed", "recovering", "voltage"}

// String returns admitted, circuit_open, shed, recovering or voltage.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText returns the reason's name, as String (e.g. "circuit_open").
// A reason that is not one of the defined ones is an error.
func (r Reason) MarshalText() ([]byte, error) {
	if r >= numReasons {
		return nil, errors.New("atrion: invalid reason " + strconv.Itoa(int(r)))
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText reads a reason's name as MarshalText writes it.
func (r *Reason) UnmarshalText(b []byte) error {
	i, ok := nameIndex(reasonNames[:], b)
	if !ok {
		return errors.New("atrion: unknown reason " + strconv.Quote(string(b)))
	}
	*r = Reason(i)
	return nil
}

// Class is the outcome class of a finished request.
type Class uint8

// Outcome classes. Local rejections are never recorded at all.
const (
	Success Class = iota // the request was served
	Failure              // the service failed it (5xx, panic, Internal, ...)
	Ignored              // says nothing about the service's health (4xx, NotFound, ...)
	// Canceled: the caller gave up before the answer (the client went
	// away, its deadline passed). A caller that waited longer than the
	// route's latency baseline is evidence of slowness: the request counts
	// as a slow sample, its latency recorded but not as an error, so that a
	// dependency that hangs past every client's timeout is seen and shed
	// (SPEC §3.10). A caller that left sooner is Ignored.
	Canceled
)

var classNames = [...]string{"success", "failure", "ignored", "canceled"}

// String returns success, failure, ignored or canceled.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Decision is the answer to an admission request.
type Decision struct {
	Allowed    bool          // false: reject the request
	Reason     Reason        // why
	Mode       Mode          // the route's mode when deciding
	Resistance float64       // the route's R when deciding
	RetryAfter time.Duration // when rejected, a hint for when to try again
}

// Outcome is one request's telemetry for ReportOutcome.
type Outcome struct {
	Latency    time.Duration // negative values count as 0
	IsError    bool
	Saturation float64 // 0..1, clamped; NaN is ignored
}

// Telemetry is a batch of telemetry for Route: mean latency, error rate
// (0..1) and saturation (0..1). Out-of-range values are clamped, NaN
// components are ignored.
type Telemetry struct {
	Latency    time.Duration
	ErrorRate  float64
	Saturation float64
}
