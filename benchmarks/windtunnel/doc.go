// Package windtunnel is the Wind Tunnel (SPEC §8): a deterministic
// discrete-event simulator that puts contestants — no protection, Atrion
// with its defaults, Atrion given a CPU signal, and its peers — in front of
// the same simulated services and the same traffic, and scores how well
// each one protects them. README.md beside this file has the overview and
// the tables of scenarios and contestants.
//
// # The simulation
//
// A run is one Scenario against one Contestant. Events (arrivals, work
// done, timeouts, cancellations, retries) sit in an agenda in simulated
// time; nothing sleeps in real time. Services are models: a pool of
// workers in front of a FIFO queue, so latency grows with in-flight load (a
// call waits for a worker, and holds it while it waits for its own
// downstream calls); latency, error rates, spikes, outages, dead replicas
// and cold starts by phase; an optional queue limit beyond which calls
// fail at once (an overloaded service answers 503); optional CPU
// contention (past its cores a service's calls slow down before its
// workers run out). Callers are open-loop arrival streams (Poisson) and
// closed-loop clients, each with a timeout, a retry policy and optionally
// a patience after which the user cancels; routes can call other routes
// (A → B → C). Every random draw comes from seeded PCG streams, split so
// that the arrivals never depend on what a guard decided: the same seed
// gives the same numbers, and every contestant faces the same requests.
//
// # Two service models
//
// By default a service does not notice that a caller has gone: it still
// works through queued calls whose callers timed out, and still makes
// their downstream calls. That is how many servers behave, and it is the
// wasted work that turns an overload into a collapse; it also favours
// guards that keep queues short. A DeadlineAware service is the other
// common kind: it drops a queued call whose caller has gone, stops
// working for it, and passes deadlines and cancellations on to its
// downstream calls. Every overload scenario is run under both models (its
// "-deadline" variant), so a guard cannot win only by the model's choice.
//
// # Deployment
//
// Each contestant is deployed as its users deploy it. A route is guarded
// on a node: by default the service that serves it (a server middleware),
// or the caller (Route.Node) for a client-side guard. Breakers (gobreaker,
// failsafe-go's breaker, aegis's SRE breaker) keep one instance per route,
// as a user keeps one per dependency. Atrion and the limiters that protect
// a process (failsafe-go's adaptive limiter, aegis's BBR) keep one per
// node, as a server middleware does. In a scenario with SharedState the
// nodes are replicas: Atrion's nodes share one provider (pushed like the
// Redis provider's pub/sub), the peers keep independent instances.
//
// Outcomes reach each guard the way its library or adapter classifies
// them: a caller that timed out or went away is Canceled for Atrion (a
// slow sample once it waited past the route's latency baseline, as the
// adapters report it), a dropped permit for failsafe-go's limiter, an
// error for the breakers, and for the SRE breaker what kratos's client
// middleware marks (server errors and gateway timeouts failed, a local
// rejection failed too, a cancellation not).
//
// # CPU
//
// aegis's BBR sheds only when the host's CPU is high, and atrion+sat gets
// the same signal through atrion.WithSaturation. A node's CPU is the share
// of its workers (or cores) doing their own work — not those waiting on
// downstream calls — over each 500 ms, as a host sampler measures it. BBR
// folds each sample into aegis's moving average once, in order; nothing is
// filled in from the value at the time it reads.
//
// # Time
//
// Atrion reads the simulated time from an atrion.ManualClock that the
// simulator advances event by event. Its peers (sony/gobreaker,
// failsafe-go, go-kratos/aegis) read the wall clock through time.Now and
// offer no way to inject another. They run inside a testing/synctest
// bubble, where time.Now is a fake clock that moves only when every
// goroutine in the bubble is blocked: before each call into such a guard
// the simulator sleeps the bubble's clock up to the simulated time, so a
// peer's 5 s open timeout is 5 s of simulated time and the latency it
// measures is the simulated latency, exactly. Atrion's nodes sharing state
// sync in background goroutines on timers, so such runs happen in a
// bubble too, and the simulator waits for that background work after each
// call, which keeps them deterministic. Simulate refuses to run a guard
// that needs a bubble outside one; Run and Main provide one.
//
// # Scoring
//
// Each Result carries a Scorecard (goodput, served share over the run and
// inside the incident window, shed share, wasted calls — admitted, then
// failed, timed out or cancelled —, p50/p99 latency of admitted calls,
// time to trip, time to recover, state changes, latch) and per-bin series
// for the charts. Each scenario has a Kind (Overload, Fault, Mixed) and
// pass criteria in code (Scenario.Checks): what a good guard achieves,
// evaluated on every contestant. A Board collects a seed's runs; its
// summary marks, per scenario, the contestants that dominate Atrion (serve
// more and waste fewer calls), and WriteMeans averages several seeds.
// Board.JSON is what `simulate -json` writes.
package windtunnel
