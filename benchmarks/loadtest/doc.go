// Package loadtest is a load test on real processes: a backend that
// models a dependency (a fixed pool of workers, a bounded queue, slept
// service times, faults by phase), a gin front per contestant that calls
// it through an http.Client, and an open-loop generator, each its own
// process on 127.0.0.1. It runs the scenarios (overload, a failing
// dependency, a hanging one, a slow route starving a shared pool) and
// the scenarios of shared capacity (routes of different cost on one pool,
// equal routes over capacity, a big tenant among small ones, a busy host;
// see ShareScenarios, each with its pass criteria as Checks) for each
// contestant in interleaved rounds and reports, per phase, served, shed
// and lost requests per second, latency of served requests, the times to
// first shed and to recover, and each check's verdict per run. See
// README.md; make loadtest runs it.
//
// Run starts its own executable again for every process, so a program
// that calls Run must call RunChild first (see cmd/loadtest).
package loadtest
