// Package atrprom publishes an Atrion engine's route state as Prometheus
// metrics. NewCollector returns a prometheus.Collector that reads the
// engine's routes when it is scraped; nothing is done per request.
//
// Series (route is the route ID; counters are cumulative since the route
// was first tracked, and an evicted route's series disappear):
//
//	atrion_route_resistance_ohms{route}            R
//	atrion_route_scar_tissue{route}                S
//	atrion_route_momentum{route}                   M, per second
//	atrion_route_pressure{route,component}         latency, error, saturation
//	atrion_route_mode{route,mode}                  1 for the current mode, 0 for the other three
//	atrion_route_break_point_ohms{route}           break point in force
//	atrion_route_recovery_point_ohms{route}        recovery point in force
//	atrion_route_tuner_mean_ohms{route}            AutoTuner mean of healthy R
//	atrion_route_tuner_deviation_ohms{route}       AutoTuner standard deviation
//	atrion_route_latency_baseline_seconds{route}   latency baseline (SLO or learned)
//	atrion_requests_total{route,decision}          admitted, circuit_open, shed, recovering, voltage
//	atrion_request_outcomes_total{route,outcome}   success, failure, ignored
//	atrion_mode_transitions_total{route,from,to}   pairs that happened
//	atrion_routes, atrion_overflow_hits_total, atrion_invalid_route_ids_total,
//	atrion_route_evictions_total, atrion_invalid_inputs_total,
//	atrion_observer_panics_total, atrion_observer_drops_total,
//	atrion_provider_errors_total, atrion_peer_updates_total,
//	atrion_bad_peer_updates_total                  the engine's own counters
//
// The overflow route (atrion.OverflowRoute) is a route like the others.
package atrprom

import (
	"errors"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/series"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reads an engine's state at scrape time.
type collector struct {
	a   *atrion.Atrion
	cfg config
	err error // reported by Describe, so that Register fails

	gauges             []*prometheus.Desc // series.RouteGauges, in order
	pressure, mode     *prometheus.Desc
	requests, outcomes *prometheus.Desc
	transitions        *prometheus.Desc
	stats              []*prometheus.Desc // series.Stats, in order
}

// NewCollector returns a prometheus.Collector for a's routes; register it
// with a prometheus.Registerer. It reads the routes on every scrape (ticks
// that have ended are closed first), so the series are as fresh as the
// scrape. A nil engine or a bad option makes the registration fail.
func NewCollector(a *atrion.Atrion, opts ...Option) prometheus.Collector {
	c := &collector{a: a}
	for _, o := range opts {
		if o != nil {
			o(&c.cfg)
		}
	}
	if a == nil {
		c.err = errors.New("atrprom: NewCollector: nil *atrion.Atrion")
	}
	cl := c.cfg.constLabels
	route := []string{series.RouteLabel}
	for _, g := range series.RouteGauges {
		c.gauges = append(c.gauges, prometheus.NewDesc(g.Prom, g.Help, route, cl))
	}
	family := func(name, help, label string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{series.RouteLabel, label}, cl)
	}
	c.pressure = family(series.Pressure.Prom, series.Pressure.Help, series.Pressure.Label)
	c.mode = family(series.Mode.Prom, series.Mode.Help, series.Mode.Label)
	c.requests = family(series.Requests.Prom, series.Requests.Help, series.Requests.Label)
	c.outcomes = family(series.Outcomes.Prom, series.Outcomes.Help, series.Outcomes.Label)
	tf := series.Transitions
	c.transitions = prometheus.NewDesc(tf.Prom, tf.Help, []string{series.RouteLabel, tf.FromLabel, tf.ToLabel}, cl)
	for _, s := range series.Stats {
		c.stats = append(c.stats, prometheus.NewDesc(s.Prom, s.Help, nil, cl))
	}
	return c
}

// Describe sends every series' descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
		return
	}
	for _, d := range c.gauges {
		ch <- d
	}
	ch <- c.pressure
	ch <- c.mode
	ch <- c.requests
	ch <- c.outcomes
	ch <- c.transitions
	for _, d := range c.stats {
		ch <- d
	}
}

// Collect reads the engine's routes and counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.err != nil {
		return
	}
	snaps := series.Snapshots(c.a)
	for i := range snaps {
		s := &snaps[i]
		for j, g := range series.RouteGauges {
			ch <- prometheus.MustNewConstMetric(c.gauges[j], prometheus.GaugeValue, g.Value(s), s.Route)
		}
		for j, v := range series.Pressure.Values {
			ch <- prometheus.MustNewConstMetric(c.pressure, prometheus.GaugeValue, series.Pressure.Value(s, j), s.Route, v)
		}
		for j, v := range series.Mode.Values {
			ch <- prometheus.MustNewConstMetric(c.mode, prometheus.GaugeValue, series.Mode.Value(s, j), s.Route, v)
		}
		for j, v := range series.Requests.Values {
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(series.Requests.Value(&s.Totals, j)), s.Route, v)
		}
		for j, v := range series.Outcomes.Values {
			ch <- prometheus.MustNewConstMetric(c.outcomes, prometheus.CounterValue, float64(series.Outcomes.Value(&s.Totals, j)), s.Route, v)
		}
		series.EachTransition(s, func(from, to atrion.Mode, n uint64) {
			ch <- prometheus.MustNewConstMetric(c.transitions, prometheus.CounterValue, float64(n), s.Route, from.String(), to.String())
		})
	}
	st := c.a.Stats()
	for j, s := range series.Stats {
		t := prometheus.GaugeValue
		if s.Counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.stats[j], t, float64(s.Value(&st)), nil...)
	}
}
