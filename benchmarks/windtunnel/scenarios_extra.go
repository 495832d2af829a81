package windtunnel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// This file holds the scenarios beyond the reference's: flapping inputs,
// the boiling frog, the thundering herd and the retry storm. In the
// flapping scenarios users retry failures and the dependency runs at about
// half its capacity, so a bad phase's retries load it: errors then depend
// on load, as they do when a struggling dependency is hammered.

// flapChecks are the pass criteria of the flapping scenarios: no latch, at
// most 3 state changes per bad phase (trip, probe, close: a breaker that
// follows the input without chattering), and less wasted work than no
// protection.
func flapChecks(badPhases int) []Check {
	return []Check{
		recoversWithin(30 * sec),
		atMostTransitions(3 * badPhases),
		wastesAtMost(0.5),
	}
}

// atMostTransitions bounds the state changes of a run.
func atMostTransitions(n int) Check {
	return Check{Name: fmt.Sprintf("at most %d state changes", n),
		Eval: func(a *Result, _ map[string]*Result) (string, bool) {
			return fmt.Sprint(max(0, a.Transitions)), a.Transitions <= n
		}}
}

// flapService is the flapping dependency: provisioned at about twice its
// load, so that the retries of a bad phase can overload it.
func flapService(h func(time.Duration) Health) []Service {
	return []Service{{Name: "dep", Capacity: 8, Health: Phases(Healthy(40*ms), Phase{span(20, 140), h})}}
}

var flapRoutes = []Route{{ID: "GET /dep", Service: "dep", Timeout: sec}}

// 14. Flapping, sine: the error rate swings smoothly between 0 and 60 %.
func flapSine() Scenario {
	return Scenario{
		Name: "flap-sine", Title: "Flapping: sine", Kind: Fault,
		About:    "The error rate swings smoothly between 0 and 60 % with a 30 s period, four times, then the dependency heals; users retry a failed or shed request twice. A guard should follow the swings without chattering and must not latch.",
		Duration: 180 * sec, Incident: span(20, 140), Watch: "GET /dep",
		Services: flapService(func(t time.Duration) Health {
			h := Healthy(40 * ms)
			h.ErrorRate = 0.3 * (1 - math.Cos(2*math.Pi*(t-20*sec).Seconds()/30))
			return h
		}),
		Routes:  flapRoutes,
		Traffic: []Traffic{retrying("users", Flat(100), "GET /dep")},
		Checks:  flapChecks(4),
	}
}

// 15. Flapping, alternating: down 5 s, healthy 10 s, eight times.
func flapAlternating() Scenario {
	return Scenario{
		Name: "flap-alternating", Title: "Flapping: alternating", Kind: Fault,
		About:    "The dependency is down for 5 s and healthy for 10 s, eight times over, then heals for good; users retry a failed or shed request twice.",
		Duration: 180 * sec, Incident: span(20, 140), Watch: "GET /dep",
		Services: flapService(func(t time.Duration) Health {
			if (t-20*sec)%(15*sec) < 5*sec {
				return Health{Down: true}
			}
			return Healthy(40 * ms)
		}),
		Routes:  flapRoutes,
		Traffic: []Traffic{retrying("users", Flat(100), "GET /dep")},
		Checks:  flapChecks(8),
	}
}

// 16. Flapping, noise: each second the error rate is drawn anew around a
// breaker's 50 % threshold.
func flapNoise() Scenario {
	return Scenario{
		Name: "flap-noise", Title: "Flapping: noise around the threshold", Kind: Fault,
		About:    "Each second the error rate is drawn uniformly from 20–80 %, around a standard breaker's 50 % threshold, for two minutes; then the dependency heals. Users retry a failed or shed request twice.",
		Duration: 180 * sec, Incident: span(20, 140), Watch: "GET /dep",
		Services: flapService(func(t time.Duration) Health {
			// the same noise in every run: seeded by the second
			r := rand.New(rand.NewPCG(uint64(t/sec), 0x5eed))
			h := Healthy(40 * ms)
			h.ErrorRate = 0.2 + 0.6*r.Float64()
			return h
		}),
		Routes:  flapRoutes,
		Traffic: []Traffic{retrying("users", Flat(100), "GET /dep")},
		Checks:  flapChecks(4), // a bad phase counted per 30 s
	}
}

// 17. Boiling frog: latency creeps up 4 % a second, error-free, until a
// rollback.
func boilingFrog() Scenario {
	return Scenario{
		Name: "boiling-frog", Title: "Boiling Frog (slow leak)", Kind: Fault,
		About:    "From 20 s the latency creeps up 4 % a second, with no errors (50 ms → 10× at 79 s → past the 1 s timeout at 96 s), until a rollback at 100 s. A learning guard must not take the leak for the new normal.",
		Duration: 150 * sec, Incident: span(20, 100), Watch: "GET /leaky",
		Services: []Service{{Name: "leaky", Capacity: 50, Health: Phases(Healthy(50*ms), Phase{span(20, 100), func(t time.Duration) Health {
			return Healthy(time.Duration(float64(50*ms) * math.Pow(1.04, (t-20*sec).Seconds())))
		}})}},
		Routes:  []Route{{ID: "GET /leaky", Service: "leaky", Timeout: sec}},
		Traffic: []Traffic{openLoop("users", Flat(100), "GET /leaky")},
		Checks: []Check{
			quietBefore(span(0, 20), 0.01),
			{Name: "trips before the latency reaches 10× its healthy value (at 78.7 s)",
				Eval: func(a *Result, _ map[string]*Result) (string, bool) {
					t := a.Score.TimeToTrip
					if t >= 0 {
						t += 20 * sec
					}
					return fmtDur(t), t >= 0 && t < 78700*ms
				}},
			recoversWithin(30 * sec),
		},
	}
}

// 18. Thundering herd: after an outage every client retries at once into
// a service that restarts cold.
func thunderingHerd() Scenario {
	cold := Healthy(100 * ms)
	cold.CapacityFactor = 0.3
	return Scenario{
		Name: "thundering-herd", Title: "Thundering herd on recovery", Kind: Mixed,
		About:    "300 closed-loop clients (1 s think time) retry every second, in lockstep, through a 20 s outage. The service comes back cold (30 % capacity, double latency for 10 s) and the herd hits it at once.",
		Duration: 90 * sec, Incident: span(20, 40), Watch: "GET /api",
		Services: []Service{{Name: "api", Capacity: 20, Health: Phases(Healthy(50*ms),
			Phase{span(20, 40), Const(Health{Down: true})}, Phase{span(40, 50), Const(cold)})}},
		Routes: []Route{{ID: "GET /api", Service: "api", Timeout: sec}},
		Traffic: []Traffic{{Class: "clients", Legit: true, Routes: []string{"GET /api"}, Clients: 300, Think: sec,
			Retry: Retry{Max: 30, Backoff: sec, MaxBackoff: sec, OnReject: true}}},
		Checks: []Check{
			recoversWithin(20 * sec),
			servedAtLeastNone(span(40, 70), 1.0),
		},
	}
}

// 19. Retry storm: a 3 s stall makes clients that retry at once triple the
// load; without protection the overload outlives its trigger.
func retryStorm() Scenario {
	return Scenario{
		Name: "retry-storm", Title: "Retry storm (metastable overload)", Kind: Mixed,
		About:    "400 rps on a service that serves 600 rps; a 3 s stall (400 ms) makes calls time out, and clients retry three times, 10 ms apart. Without protection the retries keep the service overloaded long after the stall.",
		Duration: 80 * sec, Incident: span(20, 23), Watch: "GET /api",
		Services: []Service{{Name: "api", Capacity: 30, Health: Phases(Healthy(50*ms), Phase{span(20, 23), Const(Healthy(400 * ms))})}},
		Routes:   []Route{{ID: "GET /api", Service: "api", Timeout: 500 * ms}},
		Traffic: []Traffic{{Class: "users", Legit: true, Routes: []string{"GET /api"}, Rate: Flat(400),
			Retry: Retry{Max: 3, Backoff: 10 * ms, MaxBackoff: 10 * ms, OnReject: true}}},
		Checks: []Check{
			classSuccess("users", span(40, 80), 0.9),
			servedAtLeastNone(span(23, 80), 1.0),
		},
	}
}
