// Package redisbench measures what sharing state through Redis costs
// (SPEC §9): nothing on the hot path, and a Redis load that follows the
// tick, not the request rate. It runs against a real redis-server that the
// benchmarks start on a free loopback port (skipped when the binary is
// missing, failed when CI is set).
//
//   - BenchmarkAdmitDone: Admit + Ticket.Done(Success) on one busy route of
//     an engine with the default in-memory provider ("memory", the baseline)
//     and of one with atrredis ("redis"), in the same run, serially and from
//     GOMAXPROCS goroutines. The provider is only called from the engine's
//     background goroutine, so the two should be equal within noise.
//   - BenchmarkRedisCommands: one route served at 10 and at 10,000 requests
//     per second, paced in real time; one op is one 100 ms tick of that
//     traffic. It reports the commands Redis executed per second (from
//     INFO commandstats, the INFO calls themselves excluded) and the
//     provider's pipelines per second. Both should be equal at the two
//     rates: one SET and one PUBLISH per changed route per tick, at most one
//     pipeline per tick, plus a SCAN and GETs per resync (every 10 s). With
//     more routes the count grows with the routes that change each tick,
//     never with the requests.
//   - BenchmarkCluster: three engines (distinct node IDs) on one
//     redis-server with 10, 1,000 and 10,000 routes each, healthy and
//     during a trip of up to 100 routes on one node: Redis commands/s,
//     bytes/s in and out, this process's CPU per node and what syncing
//     adds to it, redis-server's CPU, peers' vectors dropped (issue 21;
//     README.md has the numbers beside the previous engine's).
package redisbench
