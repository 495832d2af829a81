// Package benchmarks holds the hot-path benchmarks against peers, the
// adapter overhead suites and the Wind Tunnel. It is not imported by users.
//
// This directory's own package has no benchmarks: they live in its
// subpackages, so name them (./... for all):
//
//	cd benchmarks
//	go test -run '^$' -bench=. -benchmem ./...                every suite, once each
//	go test -run '^$' -bench=. -benchmem -count=8 ./hotpath   Admit+Done beside the floor and the peers
//	go test -run '^$' -bench=. -benchmem ./httpadapters       what each HTTP adapter adds to its framework
//
// make bench and make bench-adapters (at the repository's root) run the
// same benchmarks in interleaved rounds and print a table with each
// median, benchstat's 95 % confidence interval beside it, and (for the
// adapters) the round-by-round difference to the bare framework.
package benchmarks
