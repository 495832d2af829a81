// Package grpcbench measures what the gRPC adapter (atrgrpc) adds to a
// unary call (SPEC §9: each adapter's overhead over the bare framework, 0
// allocations added). Every benchmark runs the same call bare and guarded
// in one run, so the difference is the adapter's cost on this machine
// under the same load:
//
//   - BenchmarkUnary: a unary call (TestService/EmptyCall of grpc's
//     interop service) from a real client to a real server over bufconn,
//     serially and from GOMAXPROCS goroutines: bare; with a pass-through
//     server interceptor (noop-server: what gRPC's own interceptor
//     plumbing costs, the baseline for the server-side variants); with
//     UnaryServerInterceptor on the server; with UnaryClientInterceptor on
//     the client; with both.
//   - BenchmarkInterceptor: the interceptors called directly around a
//     handler (or invoker) that returns at once, which isolates their cost
//     from the call's, next to calling the handler directly (bare) and to
//     the core's Admit + Done alone (admit+done: the interceptors' cost
//     less their own glue), serially and from GOMAXPROCS goroutines.
//
// The engines run on the system clock with default settings except that
// routes skip bootstrap, and are warmed as the hot-path suite's are (see
// internal/rig), so that every call takes the OPERATIONAL path.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./grpcbench | tee grpc.txt
//	go run ./cmd/benchtable -base bare -floor '' grpc.txt
package grpcbench
