package atrprom

import "github.com/prometheus/client_golang/prometheus"

// Option configures a collector in NewCollector.
type Option func(*config)

type config struct {
	constLabels prometheus.Labels
}

// WithConstLabels adds labels with fixed values to every series, e.g. to
// tell two engines in one process apart. A label named like one of the
// collector's own (route, mode, component, decision, outcome, from, to) or
// an invalid label name makes the collector's registration fail.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *config) { c.constLabels = l }
}
