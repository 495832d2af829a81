package atrhttp

// hops is the configuration of what travels across hops (filled in
// below as propagation lands).
type hops struct{}
