package atrion

import (
	"errors"
	"strconv"
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
