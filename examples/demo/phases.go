package main

import "time"

// phase is one stretch of the demo's script.
type phase struct {
	name  string
	share float64 // of the run's duration
	rate  float64 // requests per second offered to each side
	// recommendations dependency: share of calls failing, and how long a
	// failing call holds a backend worker first
	recoErr  float64
	recoHang time.Duration
	about    string
}

// Rates are per side at scale 1. The backend has 4 workers and the mix
// averages about 11 ms of work: it serves about 370 requests a second.
var script = []phase{
	{name: "healthy", share: 0.20, rate: 180, about: "about half the backend's capacity"},
	{name: "dependency failing", share: 0.25, rate: 180, recoErr: 0.9, recoHang: 150 * time.Millisecond,
		about: "recommendations: 90% of calls hang 150 ms, then fail"},
	{name: "overload", share: 0.30, rate: 520, about: "1.4× the backend's capacity"},
	{name: "recovery", share: 0.25, rate: 180, about: "back to normal load, no faults"},
}

// phaseAt returns the index of the phase running at elapsed of total, and
// the phase's start.
func phaseAt(elapsed, total time.Duration) (int, time.Duration) {
	var start time.Duration
	for i, p := range script {
		end := start + time.Duration(p.share*float64(total))
		if elapsed < end || i == len(script)-1 {
			return i, start
		}
		start = end
	}
	return len(script) - 1, start
}
