// Package hotpath measures what one request costs in Atrion's hot path next
// to the alternatives a user would weigh it against (SPEC §9). Everything is
// in this one package so that a single `go test -bench` run measures all of
// them side by side, on the same machine under the same load.
//
// Each subject does the same unit of work per iteration: decide whether a
// request may proceed, then report that it succeeded. The benchmarks run it
// serially (BenchmarkSerial) and from GOMAXPROCS goroutines on one shared
// instance (BenchmarkParallel). Subjects and their settings:
//
//   - floor: two monotonic clock reads (time.Since of an epoch, the read
//     Atrion's system clock makes) and three atomic adds on shared counters:
//     the least a breaker that times every request and counts decisions,
//     successes and latency can do. It is a reference, not a bound: Atrion
//     times only a sample of requests under load.
//   - atrion: Admit + Ticket.Done(Success) on one route of an engine with
//     default settings, except that routes skip bootstrap so every decision
//     takes the OPERATIONAL path a service runs on in steady state.
//   - atrion-1000routes: the same, each iteration on the next of 1,000 routes.
//   - atrion-handle: the same as atrion through a Handle, the route looked
//     up once (as the HTTP adapters do, and as every breaker here is used:
//     one instance, no lookup by name).
//   - atrion-handle-key: Handle.AdmitKey + KeyTicket.Done(Success), each
//     iteration with the next of 100 client keys: the ban check, the
//     admission and the key's evidence (what WithClientKey costs).
//   - atrion-handle-key-1000bans: the same with 1,000 other keys banned.
//   - gobreaker: sony/gobreaker v2 CircuitBreaker.Execute of a function that
//     succeeds; default ReadyToTrip (more than 5 consecutive failures), a 5 s
//     open timeout.
//   - failsafe-breaker: failsafe-go's count-based circuit breaker, opening
//     when 5 of the last 10 executions fail, 5 s delay; used directly with
//     TryAcquirePermit + RecordSuccess, its cheapest documented path.
//   - failsafe-adaptivelimiter: failsafe-go's adaptive concurrency limiter
//     with its defaults; TryAcquirePermit + Permit.Record.
//   - aegis-sre: go-kratos/aegis Google-SRE breaker with its defaults;
//     Allow + MarkSuccess.
//   - aegis-bbr: go-kratos/aegis BBR limiter with its defaults; Allow and the
//     done function it returns.
//   - sentinel: alibaba/sentinel-golang Entry + Exit on a resource guarded by
//     an error-ratio circuit-breaker rule (50 % over 10 s, at least 100
//     requests), with its time cache on (its documented setting for high
//     throughput) and its logs written to a temporary folder.
//
// BenchmarkBanCheck measures Atrion.Banned alone, with no ban held (the
// cost every keyed request pays; SPEC budget ≤ 20 ns, 0 allocs) and with
// 1,000 bans, for a key not banned and one banned, beside its floor, an
// atomic pointer load and a nil check.
//
// Every benchmark also reports rejects/op, the share of iterations the
// subject refused, so a subject that got cheaper by rejecting shows it.
//
// `make bench` at the repository root runs the suite and prints a table of
// medians with each subject's ratio to Atrion (see cmd/benchtable).
package hotpath
