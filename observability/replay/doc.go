// Package atrreplay records what Atrion's engine saw, tick by tick, and
// replays it through a fresh engine with other settings: "what would
// these settings have done with last Tuesday's traffic?"
//
// A Recorder is an atrion.Observer: it runs in the goroutine the engine
// gives each observer, never on the request path, and writes each route's
// per-tick aggregates (requests admitted and shed, calls succeeded,
// failed, ignored and slow, their mean latency, the requests in flight,
// the in-flight limit, R and the mode) and its transitions to a compact
// file: about 12 bytes a route tick, some 420 kB a busy route-hour at
// the default 100 ms tick; an idle route writes a record only when
// something closes its ticks (a request, a snapshot read), one for the
// whole silent stretch.
//
//	rec, err := atrreplay.Create("atrion.rec", atrreplay.Options{Config: configJSON})
//	a, err := atrion.New(append(opts, atrion.WithObserver(rec))...)
//	defer rec.Close() // after a.Close
//
// The file is framed and checksummed: Read stops at the last complete
// block of a file whose process died mid-write (ErrTruncated, with what
// precedes it), and refuses a corrupt or hostile one with an error naming
// the byte, allocating no more than the file holds.
//
// Replay offers each recorded tick's demand to a new engine on a manual
// clock, spread over the tick, and ends calls with the tick's recorded
// outcomes and latency. With the recorded settings (RecordedSettings) it
// reproduces the recorded transitions; with new ones (NewSettings, a
// configuration file as atrion.ParseConfig reads it) it shows what they
// would have admitted and shed. The command cmd/replay prints that per
// route and per minute, and draws it as an SVG.
//
// A replay is bounded by what the recording really covers, whatever a
// file claims: silences longer than MaxSilence are shortened to it (Read),
// and a route's demand is replayed at most at MaxRate a second
// (Result.Clamped counts the rest).
//
// What a recording cannot hold: the order of arrivals and ends inside a
// tick, request priorities (a replay offers PriorityNormal), and the
// retries that other decisions would have caused (demand replays as
// recorded, open-loop). Calls that other settings admit beyond the
// recorded ones end with the outcomes and latency of the ticks they would
// have ended in.
package atrreplay
