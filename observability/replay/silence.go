package atrreplay

import (
	"slices"
	"sort"
	"time"
)

// MaxSilence is the longest stretch without records a replay keeps: Read
// shortens every longer silence to it, and counts them (Recording.Silences,
// Recording.SilenceCut). An engine idle that long has healed (a scar decays
// by e^-60 in 10 minutes at the default DecayRate) and may have forgotten
// an idle route (WithIdleTTL's default), so the replay loses nothing it
// could show, and a recording of a few records spread over years replays,
// and reports, in minutes. (With a DecayRate below 0.01 a second, a scar
// would have healed further in the real silence than in the replay.)
const MaxSilence = 10 * time.Minute

// shortenSilences moves rec's records so that no silence between two
// consecutive record times (a tick's start and end, a transition, a
// configuration change) is longer than MaxSilence. A silent stretch closed
// as one long tick keeps its end on the next record and its start on the
// last one before it.
func shortenSilences(rec *Recording) {
	points := make([]time.Duration, 0, 2*len(rec.Ticks)+len(rec.Transitions)+len(rec.Reconfigs))
	for i := range rec.Ticks {
		tk := &rec.Ticks[i]
		points = append(points, tk.At, tk.At-min(tk.Dt, rec.Tick))
	}
	for _, t := range rec.Transitions {
		points = append(points, t.At)
	}
	for _, c := range rec.Reconfigs {
		points = append(points, c.At)
	}
	slices.Sort(points)
	points = slices.Compact(points)
	moved := make([]time.Duration, len(points)) // each point's new time
	for i, p := range points {
		if i == 0 {
			moved[i] = p
			continue
		}
		gap := p - points[i-1]
		if gap > MaxSilence {
			rec.Silences++
			rec.SilenceCut += gap - MaxSilence
			gap = MaxSilence
		}
		moved[i] = moved[i-1] + gap
	}
	if rec.Silences == 0 {
		return
	}
	// at maps a time: from the last point at or before it, at most
	// MaxSilence on
	at := func(t time.Duration) time.Duration {
		i := sort.Search(len(points), func(i int) bool { return points[i] > t }) - 1
		if i < 0 {
			return t
		}
		return moved[i] + min(t-points[i], MaxSilence)
	}
	for i := range rec.Ticks {
		tk := &rec.Ticks[i]
		end, start := at(tk.At), at(tk.At-tk.Dt)
		tk.At, tk.Dt = end, end-start
	}
	for i := range rec.Transitions {
		rec.Transitions[i].At = at(rec.Transitions[i].At)
	}
	for i := range rec.Reconfigs {
		rec.Reconfigs[i].At = at(rec.Reconfigs[i].At)
	}
}
