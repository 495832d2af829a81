// Package windtunnel is the Wind Tunnel (SPEC §8): a deterministic
// discrete-event simulator that puts contestants — no protection, Atrion
// with its defaults, and its peers — in front of the same simulated
// services and the same traffic, and scores how well each one protects
// them.
//
// # The simulation
//
// A run is one Scenario against one Contestant. Events (arrivals, work
// done, timeouts, retries) sit in a heap in simulated time; nothing
// sleeps in real time. Services are models: a pool of workers in front of
// a FIFO queue, so latency grows with in-flight load (a call waits for a
// worker, and holds it while it waits for its own downstream calls);
// latency, error rates, spikes, outages and cold starts by phase; an
// optional queue limit beyond which calls fail at once. Callers are open-loop arrival streams (Poisson) and closed-loop
// clients, each with a timeout and a retry policy; routes can call other
// routes (A → B → C). Every random draw comes from seeded PCG sources, so
// the same seed gives the same numbers.
//
// # Time
//
// Atrion reads the simulated time from an atrion.ManualClock that the
// simulator advances event by event. Its peers (sony/gobreaker,
// failsafe-go, go-kratos/aegis) read the wall clock through time.Now and
// offer no way to inject another. They run inside a testing/synctest
// bubble, where time.Now is a fake clock that moves only when every
// goroutine in the bubble is blocked: the simulator advances it with
// time.Sleep in lockstep with the manual clock, so a peer's 5 s open
// timeout is 5 s of simulated time, its rolling windows roll in simulated
// time and the latency it measures is the simulated latency. Simulate
// refuses to run a peer outside a bubble; Run and Main provide one. The
// one thing a bubble cannot fake is the host's CPU load, which aegis's
// BBR limiter samples in a package-global goroutine: see Contestants.
//
// # Scoring
//
// Each Result carries a Scorecard (goodput, shed share, wasted work,
// p50/p99 latency of admitted calls, time to trip, time to recover, mode
// transitions, latch) and per-bin series for the charts. Each scenario
// states pass criteria for Atrion in code (Scenario.Check); where Atrion
// loses a scenario to a peer, the scorecard shows it.
package windtunnel
