// Package httpadapters measures what each HTTP adapter (atrhttp, atrgin,
// atrecho, atrfiber) adds to its framework: a minimal handler on
// "GET /users/:id" served in-process, bare and guarded, in the same run.
//
//	go test -run '^$' -bench . -benchmem ./httpadapters
//
// Each benchmark's sub-benchmarks are its baseline and the adapter side
// by side. For echo and fiber a no-op middleware is measured too: echo
// allocates a closure per middleware and request, and a fiber app.Use
// adds a route to walk, whoever the middleware is.
package httpadapters
