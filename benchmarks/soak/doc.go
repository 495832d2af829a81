// Package soak runs Atrion for a long time under mixed traffic and
// watches what the process holds: gin with atrgin.Middleware on a real
// loopback server, closed-loop clients on many routes and client keys
// (routes and keys churn past the engine's caps), open-loop overload
// phases against a route of bounded capacity, so that the engine sheds,
// a live configuration reload every 3 s, an observer, the audit trail in
// a rotating file, and Prometheus scrapes. It samples RSS, the heap (after
// a collection), goroutines and open file descriptors.
//
// TestSoak is the whole of it. Its duration comes from ATRION_SOAK (a Go
// duration; default 25 s, the smoke run of make test); make soak runs it
// for an hour and writes the table to ATRION_SOAK_OUT. It fails when,
// after the warm-up (the first fifth), the heap or RSS grow past bounds
// stated in the test, when goroutines or descriptors are not back to
// their baseline once the traffic stops, when the engine never shed, or
// when an observer, a sink or the audit file failed.
package soak
