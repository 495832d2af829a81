// Package atrion is physics-based concurrency control: load shedding and
// circuit breaking driven by a per-route resistance. Ask Admit before
// serving a request and settle its ticket with Done once, after:
//
//	a, err := atrion.New() // zero configuration: limits and thresholds are learned per route
//	if err != nil {
//		return err // only a bad option fails, and the error names it
//	}
//	defer a.Close(context.Background())
//
//	t, d := a.Admit("GET /users/:id", atrion.PriorityNormal) // a route template, never a raw path
//	if !d.Allowed {
//		return reject(d) // e.g. 503 with Retry-After: d.RetryAfter; d.Reason says why
//	}
//	class := atrion.Success
//	err = serve()
//	if err != nil {
//		class = atrion.Failure // or Ignored (the client's fault), Canceled (the client left)
//	}
//	t.Done(class)
//
// Example_quickstart runs it. The adapter modules do this for gin, echo,
// fiber, gRPC and net/http (r.Use(atrgin.Middleware(a)) and the like).
// What follows is how the engine decides.
//
// # The model
//
// Every route carries a resistance R. Outcomes are aggregated per route
// into ticks (100 ms by default) and the physics runs once per tick on the
// tick's mean latency, error rate and saturation, so nothing depends on the
// request rate:
//
//   - Pressure. Each component j is normalised against its baseline b_j:
//     p_j = tanh(k·(x_j − b_j)/b_j), in [−1, 1]. The baselines are the SLO's
//     latency (learned per route when no SLO is set) and target error rate
//     (0.01), and 0.5 for saturation. P·W = Σ w_j·p_j with weights
//     w_j = ln(1 + criticality_j) is signed: a route better than its
//     baseline sits at the floor.
//   - Momentum. M = ‖P(t) − P(t−1)‖/Δt reacts to how fast pressure changes;
//     it adds μ·M.
//   - Scar tissue. S decays as S·e^(−λΔt) and grows by σ on every trauma
//     tick, a tick whose positive pressure ‖P⁺‖ exceeds P_crit (the check
//     valve: being better than baseline is never trauma). Silence is not
//     trauma: a tick without samples only heals.
//   - Resistance. R = max(R_base, R_base + P·W + μ·M + S).
//
// Read as a controller, pressure is the proportional term, momentum the
// derivative and scar tissue a leaky integral. Used only as an on/off
// breaker that controller sawtooths under pure overload, so the control
// has two parts: overload is met by an in-flight limit, failure by the
// circuit.
//
// # Overload: the in-flight limit
//
// Each route carries an adaptive limit on its requests in flight
// (limiter.go), in the family of Netflix's Gradient2 and Vegas: while the
// limit binds and latency stays within 2× the route's learned no-load
// latency, the limit grows; once latency shows queueing it moves to
// g·(limit + √limit) with g = 2 × no-load / latency, which settles a
// little above the concurrency the service really serves at once. It never
// falls below completions per second × the no-load latency (Little's law)
// nor rises above 4× the recent peak in-flight. Two lessons correct the
// gradient, which alone cannot tell a queue from a slower dependency: a
// cut that lowered throughput with in-flight but not latency drained no
// queue, so it is undone and the latency it could not lower becomes the
// one queueing is measured against; and callers giving up is loss, so the
// limit cuts on it and keeps latency within 0.7× the latency at which they
// give up. Priorities get shares of it (Priority): bulk and low hit it
// first, critical traffic last (up to twice the limit). Routes
// of one group (WithGroups; by default all of an engine's routes) do not
// shed each other for the queueing they share: each one's limit sees its
// latency less that queueing, and while their shared bottleneck is full
// its capacity (learned by Little's law, in seats: calls/s × each call's
// own service time, so a 200 ms report costs forty 5 ms lookups) is
// divided by weighted max-min fair share: a route within its share is
// not shed, the one over it absorbs the shedding, its newest growth
// first. Latency-only trauma still raises R,
// which stays visible, but it never opens the circuit.
//
// The no-load latency is learned from the low latencies a route shows
// (fast down, slowly up, never above 1.5× the lowest seen), from ticks
// without failures while the limit does not bind (an overload teaches
// nothing); the pressure baseline is twice it when no SLO latency
// is set. A request whose caller gave up (Canceled) after waiting past the
// baseline is a slow sample, and requests still in flight past it count at
// every tick close, so a dependency that hangs past every client's timeout
// is seen, and shed, before anything completes.
//
// # Failure: the circuit
//
// A route starts in BOOTSTRAP for its first ticks (R held at 1.2·R_base),
// then runs OPERATIONAL. The error rate the physics sees is the Wilson
// lower bound of the tick's (95 %): one error in ten calls is not trauma,
// one in one is. The circuit opens (CIRCUIT_OPEN) when R reaches the break
// point and four in five (80 %) of the last ten ticks' calls failed (or a peer's
// circuit opened), or at once, bootstrap or not, when the last ticks'
// failure rate is beyond doubt (lower bound ≥ 0.8). Open, it rejects every
// priority but admits one probe every five ticks; it stays open at least
// ten ticks (a second by default), twice as long after each recovery that
// failed (up to 300 ticks), and
// turns RECOVERING after a good probe, or with time alone once R has
// healed below the recovery point. While open, scar from probes is held
// near the break point (anti-windup: the time to heal does not grow with
// the incident). RECOVERING admits a growing share of traffic, tolerates
// isolated failures, reopens when most of its calls fail, and turns
// OPERATIONAL after a run of healthy ticks.
//
// The break point is static (R_base × BreakMultiplier, 100 by default)
// until the route's AutoTuner has learned from enough healthy OPERATIONAL
// ticks without significant scar; then it is μ + K·σ of the route's
// healthy R, clamped between MinFloor and HardCeiling. The tuner never
// learns from incidents, and in shadow mode it only publishes what it
// would enforce.
//
// # Using it
//
// The hot path is Admit and Ticket.Done: no allocation, two atomic adds
// (on per-goroutine stripes once a route is busy and far from its limit,
// so cores do not contend for one cache line; on one exact count while the
// limit may bind), no lock except when a tick closes, no I/O. A Handle
// admits on a route looked up once, as the adapters keep one per route
// template. Adapters for net/http, gin, echo, fiber and gRPC live in their
// own modules; state can
// be shared across instances through a StateProvider (Redis in its own
// module); observers receive one Event per route tick and per transition.
// Tests and simulations drive the engine deterministically with a
// ManualClock.
//
// A Ticket settles once: a second Done on it is a no-op, counted in
// Stats.RepeatedDones. Route IDs are bounded (WithMaxRoutes): unknown IDs
// beyond the cap share the overflow route, and Reserve gives the routes
// an application knows slots of their own that junk IDs can never take.
// Peers' vectors outside what the route's own physics could produce, or
// dated more than MaxPeerClockSkew ahead, are refused and counted.
//
// # Layout
//
// The control law is pure and lives in internal/law: the physics, the
// in-flight limiter, the error evidence, the latency baseline, the
// AutoTuner and the mode machine, importing only math and time; the engine
// closes it once per route per tick. This package's files are named by
// room:
//
//   - atrion.go, clock.go, options.go, config.go, configfile.go, update.go: the
//     engine, its options and its live configuration.
//   - ticket.go, handle.go, decision.go, mode.go, priority.go, context.go,
//     counters.go, route.go: the hot path, a route's atomics and the
//     decision it reads.
//   - tick.go: a route's tick close, and storeDecision, which writes what
//     the hot path reads.
//   - group.go: the budget shared by routes that share a dependency.
//   - table*.go: the route table, its bounds and the idle sweep.
//   - ban_*.go: client keys: their evidence, bans, keyed admission and
//     sharing bans between nodes.
//   - sync_*.go, provider*.go: sharing routes' vectors between nodes
//     through a StateProvider (syncer), publishing on change, resync.
//   - events.go, observer.go, dispatch.go, audit.go, snapshot.go,
//     stats.go: what the engine tells; ready-made observers and audit
//     sinks are in package sink.
//   - legacy.go: the v1 and v2 APIs (CanAccept, ReportOutcome, Route).
package atrion
