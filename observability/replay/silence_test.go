package atrreplay

import (
	"testing"
	"time"
)

// A silent stretch closed as one long tick keeps its start on the tick
// before it, and its end on its own (shortened) time; records after it
// move back by what was cut; short gaps are untouched.
func TestShortenSilencesKeepsStretches(t *testing.T) {
	tick := 100 * time.Millisecond
	rec := &Recording{Tick: tick, Routes: []string{"r"}, Ticks: []Tick{
		{At: time.Second, Dt: tick},
		{At: 2*time.Hour + time.Second, Dt: 2 * time.Hour}, // closed a two-hour silence at once
		{At: 2*time.Hour + time.Second + tick, Dt: tick},
	}, Transitions: []Transition{{At: 3 * time.Hour}}}
	shortenSilences(rec)
	tk := rec.Ticks
	if rec.Silences != 2 || tk[1].At-tk[1].Dt != tk[0].At || tk[1].At-tk[0].At != MaxSilence+tick ||
		tk[2].At-tk[1].At != tick || rec.Transitions[0].At-tk[2].At != MaxSilence {
		t.Fatalf("%d silences; ticks %+v; transition at %v", rec.Silences, tk, rec.Transitions[0].At)
	}
	again := *rec
	shortenSilences(&again)
	if again.Silences != rec.Silences || again.Ticks[2].At != tk[2].At {
		t.Fatal("shortening twice changed the recording again")
	}
}
