// Package grpcload is a gRPC load test on real processes over loopback: a
// grpc-go server whose one method holds one of 8 workers for 40 ms
// (capacity 200 calls/s), guarded by each contestant in turn (Atrion's
// atrgrpc.UnaryServerInterceptor with atrion.New() defaults, failsafe-go's
// gRPC interceptor with its adaptive limiter, no protection), and an
// open-loop client in the parent process that sends every contestant the
// same seeded Poisson traffic, each call with a deadline: overload at 3×
// and 10× capacity, and mixed deadlines at 2× (half the calls with 60 ms,
// too short to wait for a worker, half with 500 ms). It reports goodput,
// shedding, handler work wasted on calls that could not finish in time,
// and, for Atrion, the route's error rate and R; Check holds the pass
// criteria. See README.md; make loadtest-grpc runs it.
//
// Run starts a server process per run, its own executable or another
// build of it (the before binary), so a program that calls Run must call
// ServeChild first (see cmd/grpcload).
package grpcload
