// Package httpadapters measures what each HTTP adapter (atrhttp, atrgin,
// atrecho for echo v4 and v5, atrfiber for fiber v2 and v3) adds to its
// framework: a minimal handler on "GET /users/:id" served in-process, bare
// and guarded, in the same run.
//
//	make bench-adapters   # from the repository root: 8 interleaved rounds, ~3 minutes
//
// prints, per framework and GOMAXPROCS, what each adapter adds to the bare
// framework (the median of the round-by-round differences). The engine is
// warmed first as in the hot-path suite (out of bootstrap, routes busy).
//
// Each benchmark's sub-benchmarks are its baseline and the adapter side
// by side, with a no-op middleware between them: what any middleware
// costs (echo v4 allocates a closure per middleware and request, v5 builds
// its chain once; a fiber app.Use adds a route to walk, whoever the
// middleware is).
package httpadapters
