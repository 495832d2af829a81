// Package observability measures what publishing an engine's state costs
// (SPEC §7, §9): one Prometheus scrape and one OpenTelemetry collection of
// an engine with 1,000 and 10,000 routes, beside the engine's own
// Snapshots read that both are built on; and the hot path, Admit +
// Ticket.Done, on a bare engine and on one with everything attached (an
// atrprom collector registered and scraped, atrotel instruments registered
// and collected, an atrotel Tracer observing transitions), in the same run.
//
// Both exporters read the routes only when scraped, so the hot path should
// not notice them; the attached Tracer is an observer, so the engine emits
// its per-tick events (one per route per tick, never per request).
//
//	go test -run '^$' -bench . -benchmem ./observability
package observability
