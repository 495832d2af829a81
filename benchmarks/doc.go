// Package benchmarks holds the hot-path benchmarks against peers, the
// adapter overhead suites and the Wind Tunnel. It is not imported by users.
package benchmarks
