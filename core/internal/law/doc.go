// Package law is Atrion's control law, pure: the physics of resistance
// (physics.go), the in-flight limiter (limiter.go), the error evidence
// (evidence.go), the no-load latency baseline (baseline.go), the
// AutoTuner (tuner.go) and the mode machine (circuit.go), with one
// route's state of all of them in State (state.go).
//
// It imports only math and time: no clock, no locks, no I/O, no engine.
// The engine calls State.Close once per route per tick, under the route's
// lock, with what it measured, and stores from the State what its hot
// path reads; requests never enter this package.
package law
