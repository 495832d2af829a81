package windtunnel

import (
	"fmt"
	"strings"
	"testing"
)

// knownFailures are the pass criteria that Atrion's current defaults miss,
// with why (as observed on the core this instrument was built against).
// They are reported, not hidden: the scenarios were not tuned to make them
// pass (see the scorecard). A check listed here that starts to pass is
// logged so the list can shrink; a check that fails and is not listed
// fails the test. A deadline-aware variant ("<name>-deadline") shares its
// scenario's entries.
var knownFailures = map[string]string{
	"domino/\"home\" requests":             "A's accept queue overflows in the first second of C's hang, before any limit has seen C's calls take longer: /home loses ~3 % there",
	"domino/trips":                         "C's calls time out rather than fail: the in-flight limits of B and C shed part of the traffic, never half of C's calls in a bin, and no circuit opens on latency",
	"flap-sine/wasted calls":               "errors up to 60 % never open the circuit (a circuit opens at 80 % failing): with retries, a dependency that answers half its calls is worth calling, so Atrion wastes about what no protection wastes — and serves about as much",
	"flap-noise/wasted calls":              "same: 20–80 % errors, retried, rarely reach the 80 % that opens",
	"security-cluster/clients' calls shed": "each bot's fresh key floods the three replicas for ~0.8 s before a replica has MinCalls (20) of its failures and bans it for all three; meanwhile the replica's in-flight limit, one per replica for every key, sheds clients too (4.2 %, seed 1). Per-key breakers shed no client (failsafe-breaker 0.0 %) but let 14.6 % of the bots' calls through (Atrion 6.2 %)",
	"sudden-10x/critical calls":            "critical traffic (200 rps) alone is the service's whole capacity (200 rps): shed last, past twice the in-flight limit, some of it still queues past its timeout",
	// Shared capacity (issue 28): what the route and key shares
	// (share_group.go, share_keys.go) leave.
	"hetero-cost/GET /lookup p99":                                 "the report route is held at the learned capacity less the lookups' rounded-up demand, but the learned capacity swings around the pool's 8 connections (probed up 5 %/s while no queue shows, followed down when one does), and while it is above 8 lookups wait for a report: p99 56 ms against 10 ms healthy (seed 1; 323 ms before the shares)",
	"hetero-cost/goodput":                                         "the reserve that keeps the lookups' p99 low, and a capacity learned a little low after each probe's queue, leave the pool 80 % busy with served work (seed 1; the design's bound with the reserve is ~91 %). It passed before the shares (100 %), when the lookups were starved instead",
	"big-tenant/\"big\" served ≥ 95% of 146/s":                    "the slow database: the route's own in-flight limit reads the slower database as queueing and falls to about 10 calls on a 16-connection pool (the trial that should learn the new latency ends once the incident's first queue drains), so the key shares divide too little: the big key gets 51/s of its 146/s share and the small keys 75-80 % (seed 1). In the big key's own surge the key shares serve the small keys fully",
	"big-tenant/\"s1\" served ≥ 99% of its offered requests (22s": "the slow database: the route's own in-flight limit reads the slower database as queueing and falls to about 10 calls on a 16-connection pool (the trial that should learn the new latency ends once the incident's first queue drains), so the key shares divide too little: the big key gets 51/s of its 146/s share and the small keys 75-80 % (seed 1). In the big key's own surge the key shares serve the small keys fully",
	"big-tenant/\"s2\" served ≥ 99% of its offered requests (22s": "the slow database: the route's own in-flight limit reads the slower database as queueing and falls to about 10 calls on a 16-connection pool (the trial that should learn the new latency ends once the incident's first queue drains), so the key shares divide too little: the big key gets 51/s of its 146/s share and the small keys 75-80 % (seed 1). In the big key's own surge the key shares serve the small keys fully",
	"big-tenant/\"s3\" served ≥ 99% of its offered requests (22s": "the slow database: the route's own in-flight limit reads the slower database as queueing and falls to about 10 calls on a 16-connection pool (the trial that should learn the new latency ends once the incident's first queue drains), so the key shares divide too little: the big key gets 51/s of its 146/s share and the small keys 75-80 % (seed 1). In the big key's own surge the key shares serve the small keys fully",
	"big-tenant/\"s4\" served ≥ 99% of its offered requests (22s": "the slow database: the route's own in-flight limit reads the slower database as queueing and falls to about 10 calls on a 16-connection pool (the trial that should learn the new latency ends once the incident's first queue drains), so the key shares divide too little: the big key gets 51/s of its 146/s share and the small keys 75-80 % (seed 1). In the big key's own surge the key shares serve the small keys fully",
}

// known looks check up in knownFailures, under the scenario's name or, for
// a variant, its base scenario's (inherited).
func known(scenario, check string) (why string, ok, inherited bool) {
	base := strings.TrimSuffix(scenario, "-deadline")
	for k, w := range knownFailures {
		s, prefix, _ := strings.Cut(k, "/")
		if (s == scenario || s == base) && strings.HasPrefix(check, prefix) {
			return w, true, s != scenario
		}
	}
	return "", false, false
}

// TestScenarios runs every scenario against Atrion and what its checks
// compare against, and judges Atrion by the scenario's pass criteria.
func TestScenarios(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			const seed = 1
			others := map[string]*Result{}
			for _, name := range sc.Needs() {
				others[name] = Run(t, sc, contestantByName(t, name), seed)
			}
			atr := Run(t, sc, Atrion, seed)
			for _, v := range sc.Judge(atr, others) {
				why, isKnown, inherited := known(sc.Name, v.Check)
				switch {
				case !v.Pass && isKnown:
					t.Logf("known failure: %s — %s (%s)", v.Check, v.Seen, why)
				case !v.Pass:
					t.Errorf("%s — %s", v.Check, v.Seen)
				case isKnown && !inherited:
					t.Logf("now passes, drop it from knownFailures: %s — %s", v.Check, v.Seen)
				}
			}
		})
	}
}

func contestantByName(t *testing.T, name string) Contestant {
	t.Helper()
	for _, c := range Contestants() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no contestant %q", name)
	return Contestant{}
}

// TestKnownFailuresExist keeps the known-failure list honest: every entry
// names a real scenario and check.
func TestKnownFailuresExist(t *testing.T) {
	for k := range knownFailures {
		s, prefix, _ := strings.Cut(k, "/")
		sc, ok := ScenarioByName(s)
		if !ok {
			t.Errorf("%q: no such scenario", k)
			continue
		}
		found := false
		for _, c := range append([]Check{noLatch}, sc.Checks...) {
			found = found || strings.HasPrefix(c.Name, prefix)
		}
		if !found {
			t.Errorf("%q: no such check", k)
		}
	}
}

// TestScenarioCatalogue pins the catalogue: the reference's thirteen, six
// more, the eight users meet, the five of shared capacity, and a
// deadline-aware variant of each overload scenario whose services are not
// all deadline-aware already; unique names, each valid with a kind and
// checks.
func TestScenarioCatalogue(t *testing.T) {
	scs := Scenarios()
	seen := map[string]bool{}
	overload, variants, native := 0, 0, 0
	for _, sc := range scs {
		if seen[sc.Name] {
			t.Errorf("duplicate scenario %q", sc.Name)
		}
		seen[sc.Name] = true
		if err := sc.validate(); err != nil {
			t.Error(err)
		}
		if len(sc.Checks) == 0 || sc.Title == "" || sc.About == "" {
			t.Errorf("%s: needs a title, a description and checks", sc.Name)
		}
		switch {
		case sc.Kind == Overload && allDeadlineAware(sc) && !strings.HasSuffix(sc.Name, "-deadline"):
			native++
		case sc.Kind == Overload:
			overload++
		}
		if strings.HasSuffix(sc.Name, "-deadline") {
			variants++
			for _, s := range sc.Services {
				if !s.DeadlineAware {
					t.Errorf("%s: service %s is not deadline-aware", sc.Name, s.Name)
				}
			}
			if base, ok := ScenarioByName(strings.TrimSuffix(sc.Name, "-deadline")); !ok || base.Kind != Overload || sc.Kind != Overload {
				t.Errorf("%s: not the variant of an overload scenario", sc.Name)
			}
		}
	}
	if variants == 0 || 2*variants != overload {
		t.Errorf("%d overload scenarios, %d deadline-aware variants: want one variant per overload scenario", overload, variants)
	}
	if native == 0 {
		t.Error("no overload scenario that is deadline-aware by itself (the shared-capacity ones)")
	}
	for _, n := range []string{"security-cluster", "shared-pool", "sudden-10x", "partial-outage", "hang", "low-volume", "cpu-contention", "cancellations", "cluster",
		"hetero-cost", "equal-routes", "equal-routes-retry", "big-tenant", "busy-host", "mixed-deadlines"} {
		if !seen[n] {
			t.Errorf("scenario %q missing", n)
		}
	}
	if n := len(scs); n != 20+9+5+variants {
		t.Errorf("%d scenarios, want %d", n, 20+9+5+variants)
	}
}

// TestFlapChecksAreAbsolute: the flapping scenarios bound state changes
// by the number of bad phases, not by another contestant.
func TestFlapChecksAreAbsolute(t *testing.T) {
	for name, phases := range map[string]int{"flap-sine": 4, "flap-alternating": 8, "flap-noise": 4} {
		sc, _ := ScenarioByName(name)
		want := fmt.Sprintf("at most %d state changes", 3*phases)
		found := false
		for _, c := range sc.Checks {
			found = found || c.Name == want
			if len(c.Needs) > 0 {
				t.Errorf("%s: check %q compares against %v", name, c.Name, c.Needs)
			}
		}
		if !found {
			t.Errorf("%s: no check %q", name, want)
		}
	}
}
