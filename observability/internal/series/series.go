// Package series is the one list of the metrics that Atrion's Prometheus
// (atrprom) and OpenTelemetry (atrotel) modules publish: each series has
// its Prometheus name, its OpenTelemetry instrument name and unit, its help
// text and the function that reads it from the engine's state. Both modules
// render this list in their own conventions, so a series added here appears
// in both, named alike.
//
// It is internal: the series are the public interface, not this list.
package series

import (
	"strings"
	"unicode/utf8"

	atrion "github.com/atrion-go/atrion/core"
)

// Gauge is a per-route gauge read from a route snapshot.
type Gauge struct {
	Prom  string // Prometheus metric name
	OTel  string // OpenTelemetry instrument name
	Unit  string // UCUM unit, for OpenTelemetry
	Help  string
	Value func(*atrion.RouteSnapshot) float64
}

// RouteGauges are the per-route gauges without extra labels.
var RouteGauges = []Gauge{
	{"atrion_route_resistance_ohms", "atrion.route.resistance", "1",
		"Resistance R of the route: R_base at rest, the circuit opens when it reaches the break point.",
		func(s *atrion.RouteSnapshot) float64 { return s.Resistance }},
	{"atrion_route_scar_tissue", "atrion.route.scar_tissue", "1",
		"Scar tissue S of the route: the decaying memory of past trauma.",
		func(s *atrion.RouteSnapshot) float64 { return s.Scar }},
	{"atrion_route_momentum", "atrion.route.momentum", "1/s",
		"Momentum M of the route: how fast its pressure vector changes, per second.",
		func(s *atrion.RouteSnapshot) float64 { return s.Momentum }},
	{"atrion_route_break_point_ohms", "atrion.route.break_point", "1",
		"Resistance at which the route's circuit opens (static or learned by the AutoTuner).",
		func(s *atrion.RouteSnapshot) float64 { return s.BreakPoint }},
	{"atrion_route_recovery_point_ohms", "atrion.route.recovery_point", "1",
		"Resistance below which an open circuit starts to recover.",
		func(s *atrion.RouteSnapshot) float64 { return s.RecoveryPoint }},
	{"atrion_route_tuner_mean_ohms", "atrion.route.tuner.mean", "1",
		"AutoTuner's moving mean of the route's healthy resistance.",
		func(s *atrion.RouteSnapshot) float64 { return s.Tuner.Mean }},
	{"atrion_route_tuner_deviation_ohms", "atrion.route.tuner.deviation", "1",
		"AutoTuner's moving standard deviation of the route's healthy resistance.",
		func(s *atrion.RouteSnapshot) float64 { return s.Tuner.StdDev }},
	{"atrion_route_latency_baseline_seconds", "atrion.route.latency_baseline", "s",
		"Latency baseline the route's pressure is measured against (SLO or learned).",
		func(s *atrion.RouteSnapshot) float64 { return s.LatencyBaseline.Seconds() }},
	// capacity: what the route takes in, and what it is asked for
	{"atrion_route_in_flight", "atrion.route.in_flight", "{request}",
		"Requests of the route in flight now.",
		func(s *atrion.RouteSnapshot) float64 { return s.InFlight }},
	{"atrion_route_in_flight_limit", "atrion.route.in_flight_limit", "{request}",
		"Adaptive in-flight limit of the route: the requests it takes in at once before it sheds (0 until its first tick).",
		func(s *atrion.RouteSnapshot) float64 { return s.Limit }},
	{"atrion_route_no_load_latency_seconds", "atrion.route.no_load_latency", "s",
		"Learned no-load latency of the route, which its in-flight limit measures queueing against (0 until learned).",
		func(s *atrion.RouteSnapshot) float64 { return s.LatencyFloor.Seconds() }},
	{"atrion_route_demand", "atrion.route.demand", "1",
		"Demand on the route: (admitted + shed by the in-flight limit) / admitted over the last 10 ticks (1 s at the default tick); 1 while nothing is shed.",
		func(s *atrion.RouteSnapshot) float64 { return s.Demand }},
}

// CapacityGauges are the RouteGauges that say how much a route takes in
// and is asked for: what autoscalers, load balancers and the capacity
// panels read.
//
// Groups (atrion.WithGroups) have no series yet: the engine does not
// expose them. The group's capacity in cost units comes with fair shares;
// its gauges then join here as a list read from the engine's group
// snapshots, labelled group, beside these per-route ones.
var CapacityGauges = RouteGauges[len(RouteGauges)-4:]

// GaugeFamily is a per-route gauge with one more label, one series per
// label value.
type GaugeFamily struct {
	Prom, OTel, Unit, Help string
	Label                  string   // Prometheus label name
	Attr                   string   // OpenTelemetry attribute key
	Values                 []string // label values, in order
	Value                  func(s *atrion.RouteSnapshot, i int) float64
}

// Pressure is the pressure vector, one series per component.
var Pressure = GaugeFamily{
	Prom: "atrion_route_pressure", OTel: "atrion.route.pressure", Unit: "1",
	Help:   "Normalised pressure of the route per component, from -1 (better than baseline) to 1.",
	Label:  "component",
	Attr:   "atrion.component",
	Values: []string{"latency", "error", "saturation"},
	Value:  func(s *atrion.RouteSnapshot, i int) float64 { return s.Pressure[i] },
}

// Modes are the label values of a mode, indexed by atrion.Mode.
var Modes = modeNames()

func modeNames() []string {
	out := make([]string, 0, 4)
	for m := atrion.ModeBootstrap; m.Valid(); m++ {
		out = append(out, m.String())
	}
	return out
}

// Mode is the route's mode, one series per mode: 1 for the current one, 0
// for the others.
var Mode = GaugeFamily{
	Prom: "atrion_route_mode", OTel: "atrion.route.mode", Unit: "1",
	Help:   "Mode of the route: 1 for the current mode, 0 for the others.",
	Label:  "mode",
	Attr:   "atrion.mode",
	Values: Modes,
	Value: func(s *atrion.RouteSnapshot, i int) float64 {
		if int(s.Mode) == i {
			return 1
		}
		return 0
	},
}

// CounterFamily is a per-route cumulative counter with one more label.
type CounterFamily struct {
	Prom, OTel, Unit, Help string
	Label                  string   // Prometheus label name
	Attr                   string   // OpenTelemetry attribute key
	Values                 []string // label values, in order
	Value                  func(t *atrion.Totals, i int) uint64
}

// routeReasons are the decision reasons a route counts, admitted
// included: every Reason but ReasonBanned, which no route counts.
var routeReasons = []atrion.Reason{atrion.ReasonAdmitted, atrion.ReasonCircuitOpen, atrion.ReasonShed,
	atrion.ReasonRecovering, atrion.ReasonVoltage, atrion.ReasonKeyShare, atrion.ReasonDeadline}

func reasonNames() []string {
	out := make([]string, len(routeReasons))
	for i, r := range routeReasons {
		out[i] = r.String()
	}
	return out
}

// Requests counts decisions: admitted, or rejected by reason (circuit_open,
// shed, recovering, voltage, key_share, deadline).
var Requests = CounterFamily{
	Prom: "atrion_requests_total", OTel: "atrion.requests", Unit: "{request}",
	Help:   "Admission decisions on the route: admitted, or rejected by reason.",
	Label:  "decision",
	Attr:   "atrion.decision",
	Values: reasonNames(),
	Value: func(t *atrion.Totals, i int) uint64 {
		if routeReasons[i] == atrion.ReasonAdmitted {
			return t.Admitted
		}
		return t.Rejected.For(routeReasons[i])
	},
}

// Outcomes counts the outcomes admitted requests reported.
var Outcomes = CounterFamily{
	Prom: "atrion_request_outcomes_total", OTel: "atrion.request.outcomes", Unit: "{request}",
	Help:   "Outcomes of the route's admitted requests: success, failure, or ignored (says nothing about health).",
	Label:  "outcome",
	Attr:   "atrion.outcome",
	Values: []string{atrion.Success.String(), atrion.Failure.String(), atrion.Ignored.String()},
	Value: func(t *atrion.Totals, i int) uint64 {
		switch atrion.Class(i) {
		case atrion.Success:
			return t.Successes
		case atrion.Failure:
			return t.Failures
		default:
			return t.Ignored
		}
	},
}

// Transitions counts a route's mode transitions by the mode left (from)
// and the mode entered (to). Only pairs that happened have a series.
var Transitions = struct {
	Prom, OTel, Unit, Help string
	FromLabel, ToLabel     string
	FromAttr, ToAttr       string
}{
	Prom: "atrion_mode_transitions_total", OTel: "atrion.mode.transitions", Unit: "{transition}",
	Help:      "Mode transitions of the route, by the mode left and the mode entered.",
	FromLabel: "from", ToLabel: "to",
	FromAttr: "atrion.mode.from", ToAttr: "atrion.mode.to",
}

// EachTransition calls f for every from → to pair that s's route went
// through, with its count.
func EachTransition(s *atrion.RouteSnapshot, f func(from, to atrion.Mode, n uint64)) {
	for from := range s.TransitionsByMode {
		for to, n := range s.TransitionsByMode[from] {
			if n > 0 {
				f(atrion.Mode(from), atrion.Mode(to), n)
			}
		}
	}
}

// RouteLabel and RouteAttr name the route in every per-route series.
const (
	RouteLabel = "route"
	RouteAttr  = "atrion.route"
)

// Stat is an engine-wide series read from atrion.Stats.
type Stat struct {
	Prom, OTel, Unit, Help string
	Counter                bool // cumulative; else a gauge
	Value                  func(*atrion.Stats) uint64
}

// Stats are the engine's own series.
var Stats = []Stat{
	{"atrion_routes", "atrion.route.count", "{route}",
		"Routes the engine tracks, the overflow route included.", false,
		func(s *atrion.Stats) uint64 { return uint64(max(s.Routes, 0)) }},
	{"atrion_overflow_hits_total", "atrion.overflow.hits", "{request}",
		"Route lookups that fell into the overflow route (route cap reached, or an invalid route ID).", true,
		func(s *atrion.Stats) uint64 { return s.OverflowHits }},
	{"atrion_invalid_route_ids_total", "atrion.invalid_route_ids", "{request}",
		"Empty or over-long route IDs (counted in the overflow hits too).", true,
		func(s *atrion.Stats) uint64 { return s.InvalidIDs }},
	{"atrion_route_evictions_total", "atrion.evictions", "{route}",
		"Routes evicted: idle routes dropped to make room, and explicit evictions.", true,
		func(s *atrion.Stats) uint64 { return s.Evictions }},
	{"atrion_invalid_inputs_total", "atrion.invalid_inputs", "{input}",
		"Telemetry values clamped or dropped (NaN, infinite, out of range).", true,
		func(s *atrion.Stats) uint64 { return s.InvalidInputs }},
	{"atrion_observer_panics_total", "atrion.observer.panics", "{call}",
		"Observer calls that panicked (recovered).", true,
		func(s *atrion.Stats) uint64 { return s.ObserverPanics }},
	{"atrion_observer_drops_total", "atrion.observer.drops", "{event}",
		"Events dropped because observers fell behind.", true,
		func(s *atrion.Stats) uint64 { return s.ObserverDrops }},
	{"atrion_provider_errors_total", "atrion.provider.errors", "{call}",
		"State provider calls that failed or timed out.", true,
		func(s *atrion.Stats) uint64 { return s.ProviderErrors }},
	{"atrion_peer_updates_total", "atrion.peer.updates", "{update}",
		"Peers' state vectors merged into local state.", true,
		func(s *atrion.Stats) uint64 { return s.PeerUpdates }},
	{"atrion_bad_peer_updates_total", "atrion.peer.bad_updates", "{update}",
		"Peers' state vectors rejected as garbage.", true,
		func(s *atrion.Stats) uint64 { return s.BadPeerUpdates }},
	{"atrion_bans", "atrion.ban.count", "{ban}",
		"Client keys banned now (AdmitKey), this node's and those adopted from peers.", false,
		func(s *atrion.Stats) uint64 { return uint64(max(s.Bans.Active, 0)) }},
	{"atrion_bans_decided_total", "atrion.ban.decided", "{ban}",
		"Client keys banned on this node, on evidence or by Ban.", true,
		func(s *atrion.Stats) uint64 { return s.Bans.Local }},
	{"atrion_bans_adopted_total", "atrion.ban.adopted", "{ban}",
		"Peers' bans adopted.", true,
		func(s *atrion.Stats) uint64 { return s.Bans.Adopted }},
	{"atrion_bans_refused_total", "atrion.ban.refused", "{ban}",
		"Peers' ban records refused (bad key, beyond MaxTTL, from the future, over a batch, no room).", true,
		func(s *atrion.Stats) uint64 { return s.Bans.Refused }},
	{"atrion_banned_requests_total", "atrion.ban.rejected", "{request}",
		"Requests rejected because their client key was banned.", true,
		func(s *atrion.Stats) uint64 { return s.Bans.Rejected }},
}

// Snapshots reads every route's state for one collection, with route IDs
// made fit to be label values: an ID that is not valid UTF-8 has its bad
// bytes replaced with U+FFFD, and a route whose label would then collide
// with another's is left out, so that one odd ID can never fail a scrape.
// The overflow route is left out while it is idle (no request ever fell
// into it): every engine has it, and its series would say nothing.
func Snapshots(a *atrion.Atrion) []atrion.RouteSnapshot {
	return sanitize(dropIdleOverflow(a.Snapshots()))
}

// dropIdleOverflow leaves the overflow route out of snaps while no request
// has been decided on it.
func dropIdleOverflow(snaps []atrion.RouteSnapshot) []atrion.RouteSnapshot {
	for i := range snaps {
		if s := &snaps[i]; s.Route == atrion.OverflowRoute && s.Totals == (atrion.Totals{}) && s.InFlight == 0 && s.Ticks == 0 {
			return append(snaps[:i], snaps[i+1:]...)
		}
	}
	return snaps
}

func sanitize(snaps []atrion.RouteSnapshot) []atrion.RouteSnapshot {
	bad := false
	for i := range snaps {
		if !utf8.ValidString(snaps[i].Route) {
			bad = true
			break
		}
	}
	if !bad {
		return snaps
	}
	seen := make(map[string]bool, len(snaps))
	for i := range snaps {
		if utf8.ValidString(snaps[i].Route) {
			seen[snaps[i].Route] = true
		}
	}
	out := snaps[:0]
	for _, s := range snaps {
		if !utf8.ValidString(s.Route) {
			s.Route = RouteLabelValue(s.Route)
			if seen[s.Route] {
				continue
			}
			seen[s.Route] = true
		}
		out = append(out, s)
	}
	return out
}

// RouteLabelValue returns route as it appears in labels and attributes:
// unchanged when it is valid UTF-8, else with each bad byte sequence
// replaced by U+FFFD. It does not allocate for a valid ID.
func RouteLabelValue(route string) string {
	return strings.ToValidUTF8(route, "\uFFFD")
}
