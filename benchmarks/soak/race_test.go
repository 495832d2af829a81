//go:build race

package soak

// raceEnabled: under the race detector everything is some ten times
// slower and RSS carries the detector's shadow memory.
const raceEnabled = true
