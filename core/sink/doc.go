// Package sink holds ready-made observers and audit sinks for an Atrion
// engine: they write events to a console, a slog logger or JSON lines;
// combine and filter other observers; keep the last events for tests and
// dashboards; and write the audit trail to slog or to a rotating file.
//
// The interfaces they implement, [atrion.Observer] and [atrion.AuditSink],
// are the engine's; anything with an OnUpdate or Audit method will do as
// well, and none of these is needed to run the engine.
package sink
