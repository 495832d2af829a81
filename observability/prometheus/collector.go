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
//	atrion_route_in_flight{route}                  requests in flight now
//	atrion_route_in_flight_limit{route}            adaptive in-flight limit (0 until the first tick)
//	atrion_route_no_load_latency_seconds{route}    learned no-load latency (0 until learned)
//	atrion_route_demand{route}                     (admitted + shed) / admitted, last 10 ticks
//	atrion_requests_total{route,decision}          admitted, circuit_open, shed, recovering, voltage
//	atrion_request_outcomes_total{route,outcome}   success, failure, ignored
//	atrion_mode_transitions_total{route,from,to}   pairs that happened
//	atrion_routes, atrion_overflow_hits_total, atrion_invalid_route_ids_total,
//	atrion_route_evictions_total, atrion_invalid_inputs_total,
//	atrion_observer_panics_total, atrion_observer_drops_total,
//	atrion_provider_errors_total, atrion_peer_updates_total,
//	atrion_bad_peer_updates_total                  the engine's own counters
//	atrion_bans, atrion_bans_decided_total, atrion_bans_adopted_total,
//	atrion_bans_refused_total, atrion_banned_requests_total
//	                                               bans of client keys (atrion.BanStats)
//
// The capacity gauges are what autoscalers and the alert on capacity
// read. in_flight ÷ in_flight_limit is how full the route is; demand is
// how much more it is asked for than it takes in: (admitted + shed) ÷
// admitted, where shed counts only the in-flight limit's rejections
// (decision="shed", not the circuit's), both over the last 10 ticks (one
// second at the default tick) and admitted counted as at least one; it is
// 1 while nothing is shed (an idle route too), 1.5 when the limit sheds
// one request for every two it admits: the route would need half as much
// capacity again. Groups (atrion.WithGroups) have no series yet.
//
// The overflow route (atrion.OverflowRoute) is a route like the others,
// published once a request has fallen into it. WithFamilies bounds the
// series per route.
package atrprom

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/observability/internal/series"
	"github.com/prometheus/client_golang/prometheus"
)

// collector reads an engine's state at scrape time.
type collector struct {
	a   *atrion.Atrion
	cfg config
	err error // reported by Describe, so that Register fails

	// the per-route families' descriptors, nil for a family not published
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
	known := map[string]bool{}
	// desc returns the descriptor of a per-route family, nil when it is
	// not to be published
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		known[name] = true
		if c.cfg.families != nil && !c.cfg.families[name] {
			return nil
		}
		return prometheus.NewDesc(name, help, append([]string{series.RouteLabel}, labels...), cl)
	}
	for _, g := range series.RouteGauges {
		c.gauges = append(c.gauges, desc(g.Prom, g.Help))
	}
	family := func(name, help, label string) *prometheus.Desc { return desc(name, help, label) }
	c.pressure = family(series.Pressure.Prom, series.Pressure.Help, series.Pressure.Label)
	c.mode = family(series.Mode.Prom, series.Mode.Help, series.Mode.Label)
	c.requests = family(series.Requests.Prom, series.Requests.Help, series.Requests.Label)
	c.outcomes = family(series.Outcomes.Prom, series.Outcomes.Help, series.Outcomes.Label)
	tf := series.Transitions
	c.transitions = desc(tf.Prom, tf.Help, tf.FromLabel, tf.ToLabel)
	for _, s := range series.Stats {
		c.stats = append(c.stats, prometheus.NewDesc(s.Prom, s.Help, nil, cl))
	}
	for name := range c.cfg.families {
		if !known[name] && c.err == nil {
			c.err = errors.New("atrprom: WithFamilies: " + strconv.Quote(name) + " is not a per-route family")
		}
	}
	return c
}

// Describe sends every series' descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
		return
	}
	for _, d := range slices.Concat(c.gauges, []*prometheus.Desc{c.pressure, c.mode, c.requests, c.outcomes, c.transitions}) {
		if d != nil {
			ch <- d
		}
	}
	for _, d := range c.stats {
		ch <- d
	}
}

// Collect reads the engine's routes and counters.
//
// The registry sorts each family's series by their label values; Collect
// sends them in that order already (family by family, by label value, then
// route), which spares the registry most of that sort's work.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.err != nil {
		return
	}
	snaps := series.Snapshots(c.a)
	routes := make([]*atrion.RouteSnapshot, len(snaps))
	for i := range snaps {
		routes[i] = &snaps[i]
	}
	slices.SortFunc(routes, func(a, b *atrion.RouteSnapshot) int { return strings.Compare(a.Route, b.Route) })

	for j, g := range series.RouteGauges {
		if c.gauges[j] == nil {
			continue
		}
		for _, s := range routes {
			ch <- prometheus.MustNewConstMetric(c.gauges[j], prometheus.GaugeValue, g.Value(s), s.Route)
		}
	}
	p, m := &series.Pressure, &series.Mode
	c.family(ch, c.pressure, prometheus.GaugeValue, p.Values, routes, p.Value)
	c.family(ch, c.mode, prometheus.GaugeValue, m.Values, routes, m.Value)
	rq, oc := &series.Requests, &series.Outcomes
	c.family(ch, c.requests, prometheus.CounterValue, rq.Values, routes, func(s *atrion.RouteSnapshot, i int) float64 {
		return float64(rq.Value(&s.Totals, i))
	})
	c.family(ch, c.outcomes, prometheus.CounterValue, oc.Values, routes, func(s *atrion.RouteSnapshot, i int) float64 {
		return float64(oc.Value(&s.Totals, i))
	})
	c.transitionSeries(ch, routes)

	st := c.a.Stats()
	for j, s := range series.Stats {
		t := prometheus.GaugeValue
		if s.Counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.stats[j], t, float64(s.Value(&st)), nil...)
	}
}

// transitionSeries sends the transitions family: labels from, route, to,
// sorted by from, then route, then to.
func (c *collector) transitionSeries(ch chan<- prometheus.Metric, routes []*atrion.RouteSnapshot) {
	if c.transitions == nil {
		return
	}
	for _, from := range sortedIndex(series.Modes) {
		for _, s := range routes {
			for _, to := range sortedIndex(series.Modes) {
				if n := s.TransitionsByMode[from][to]; n > 0 {
					ch <- prometheus.MustNewConstMetric(c.transitions, prometheus.CounterValue, float64(n),
						s.Route, series.Modes[from], series.Modes[to])
				}
			}
		}
	}
}

// family sends a labelled family's series: labels (label, route) sort by
// the label's value first, as every family's label name sorts before
// "route".
func (c *collector) family(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType,
	values []string, routes []*atrion.RouteSnapshot, value func(*atrion.RouteSnapshot, int) float64) {
	if d == nil {
		return
	}
	for _, i := range sortedIndex(values) {
		for _, s := range routes {
			ch <- prometheus.MustNewConstMetric(d, t, value(s, i), s.Route, values[i])
		}
	}
}

// sortedIndex returns the indexes of values in the order of the values.
func sortedIndex(values []string) []int {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(values[a], values[b]) })
	return idx
}
