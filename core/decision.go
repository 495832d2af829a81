package atrion

import (
	"errors"
	"strconv"
	"time"
)

// nameIndex returns the index of the name b in names.
func nameIndex(names []string, b []byte) (int, bool) {
	for i, n := range names {
		if string(b) == n {
			return i, true
		}
	}
	return 0, false
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
	numReasons                      // the reasons a route rejects for, counted per route
	// ReasonBanned: rejected before any route: the request's client key
	// is banned (AdmitKey, ban_list.go)
	ReasonBanned = numReasons
	// ReasonKeyShare: rejected because the request's client key is over
	// its share of the route's limit while the limit binds (AdmitKey,
	// share_keys.go): the key is sending more than its fair share, not
	// banned; counted in the route's Totals.Rejected.KeyShare
	ReasonKeyShare = numReasons + 1
	// ReasonDeadline: rejected because the caller's remaining time is
	// shorter than the route needs to serve it now (AdmitWithin,
	// deadline.go): its work would be wasted. It carries no RetryAfter: the
	// same call with the same deadline cannot fare better. Counted in the
	// route's Totals.Rejected.Deadline
	ReasonDeadline = numReasons + 2
)

var reasonNames = [...]string{"admitted", "circuit_open", "shed", "recovering", "voltage", "banned", "key_share", "deadline"}

// String returns admitted, circuit_open, shed, recovering, voltage, banned,
// key_share or deadline.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText returns the reason's name, as String (e.g. "circuit_open").
// A reason that is not one of the defined ones is an error.
func (r Reason) MarshalText() ([]byte, error) {
	if r > ReasonDeadline {
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

// Decision is the answer to an admission request. It has four fields so
// that Go keeps it in registers on the hot path (five would send it
// through the stack, twice: about 10 ns); the route's resistance is in its
// Snapshot.
type Decision struct {
	Allowed    bool          // false: reject the request
	Reason     Reason        // why
	Mode       Mode          // the route's mode when deciding
	RetryAfter time.Duration // when rejected, a hint for when to try again
}
