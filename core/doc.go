// Package atrion is physics-based concurrency control: load shedding and
// circuit breaking driven by a per-route resistance.
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
// derivative and scar tissue a leaky integral.
//
// # Modes and decisions
//
// A route starts in BOOTSTRAP for its first ticks (R held at 1.2·R_base),
// then runs OPERATIONAL. Below the break point, a band of graded shedding
// rejects a share of traffic that grows with R, lowest priorities first
// (see Priority). When R reaches the break point the circuit opens
// (CIRCUIT_OPEN) and rejects everything; the scar heals with time alone,
// and once R is below the recovery point with no trauma the route turns
// RECOVERING, admitting a growing share of traffic, then OPERATIONAL after
// a run of healthy ticks. A trauma tick in RECOVERING reopens at once.
//
// The break point is static (R_base × BreakMultiplier, 100 by default)
// until the route's AutoTuner has learned from enough healthy OPERATIONAL
// ticks; then it is μ + K·σ of the route's healthy R, clamped between
// MinFloor and HardCeiling. The tuner never learns from incidents, and in
// shadow mode it only publishes what it would enforce.
//
// # Using it
//
// The hot path is Admit and Ticket.Done: no allocation, two atomic adds
// (on per-goroutine stripes once a route is busy, so cores do not contend
// for one cache line), no lock except when a tick closes, no I/O. A Handle
// admits on a route looked up once; HTTPRoutes keeps one per HTTP route
// template, as the HTTP adapters do. Adapters for
// net/http, gin, echo, fiber and gRPC live in their own modules; state can
// be shared across instances through a StateProvider (Redis in its own
// module); observers receive one Event per route tick and per transition.
// Tests and simulations drive the engine deterministically with a
// ManualClock.
package atrion
