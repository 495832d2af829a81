package atrprom

import "github.com/prometheus/client_golang/prometheus"

// Option configures a collector in NewCollector.
type Option func(*config)

type config struct {
	constLabels prometheus.Labels
	families    map[string]bool // per-route families to publish; nil: all
}

// WithConstLabels adds labels with fixed values to every series, e.g. to
// tell two engines in one process apart. A label named like one of the
// collector's own (route, mode, component, decision, outcome, from, to) or
// an invalid label name makes the collector's registration fail.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *config) { c.constLabels = l }
}

// WithFamilies publishes only the named per-route families (metric names
// as in the package doc, e.g. "atrion_route_mode"), to bound the series a
// scrape carries: every family costs one series per route, or one per
// route and label value (about 29 per route in all), and an engine tracks
// up to WithMaxRoutes routes. AlertFamilies are what the bundled alert
// rules and dashboard read (about 19 series per route). With no name at
// all only the engine's own series are published, none per route. The
// engine's own series are always published. A name that is not a
// per-route family makes the collector's registration fail. Repeated
// options add to the set.
func WithFamilies(names ...string) Option {
	return func(c *config) {
		if c.families == nil {
			c.families = make(map[string]bool, len(names))
		}
		for _, n := range names {
			c.families[n] = true
		}
	}
}

// AlertFamilies are the per-route families that the alert rules and the
// Grafana dashboard in this module's directory read: each route's mode,
// its decisions, its outcomes, its transitions, its resistance beside its
// break point, and CapacityFamilies.
var AlertFamilies = append([]string{
	"atrion_route_mode", "atrion_requests_total", "atrion_request_outcomes_total",
	"atrion_mode_transitions_total", "atrion_route_resistance_ohms", "atrion_route_break_point_ohms",
}, CapacityFamilies...)

// CapacityFamilies are the per-route gauges of capacity, one series each
// per route: requests in flight, the in-flight limit, the no-load latency
// and the demand. Autoscalers read them (docs/autoscaling.md).
var CapacityFamilies = []string{
	"atrion_route_in_flight", "atrion_route_in_flight_limit",
	"atrion_route_no_load_latency_seconds", "atrion_route_demand",
}
