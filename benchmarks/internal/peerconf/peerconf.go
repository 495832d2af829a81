// Package peerconf holds the settings the benchmarks give Atrion's peers,
// once, so that the Wind Tunnel and the loopback load test configure them
// alike.
package peerconf

import (
	"time"

	"github.com/sony/gobreaker/v2"
)

// Gobreaker returns sony/gobreaker v2 settings for one breaker named name:
// trip when at least half of at least 20 calls failed in a 10 s rolling
// window (1 s buckets), stay open 5 s, close after 5 successful probes.
// gobreaker's own defaults (trip after 6 consecutive failures, open 60 s)
// suit no HTTP service. onChange, when not nil, is called on each state
// change.
func Gobreaker(name string, onChange func()) gobreaker.Settings {
	s := gobreaker.Settings{
		Name:         name,
		MaxRequests:  5,
		Interval:     10 * time.Second,
		BucketPeriod: time.Second,
		Timeout:      5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= 20 && 2*c.TotalFailures >= c.Requests
		},
	}
	if onChange != nil {
		s.OnStateChange = func(string, gobreaker.State, gobreaker.State) { onChange() }
	}
	return s
}
