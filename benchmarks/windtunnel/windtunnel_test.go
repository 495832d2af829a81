package windtunnel

import (
	"strings"
	"testing"
)

// knownFailures are Atrion's pass criteria that its current defaults miss,
// with why. They are reported, not hidden: the scenarios were not tuned
// to make them pass (see the scorecard). A check listed here that starts
// to pass is logged so the list can shrink; a check that fails and is not
// listed fails the test.
var knownFailures = map[string]string{
	"flash-crowd/serves ≥ 1.50×":     "overload opens the circuit (learned break point 30 on a steady route) and it heals slowly: sawtooth instead of graded shedding",
	"flash-crowd/serves ≥ 50% of":    "same",
	"security/\"clients\" requests":  "new bot keys spend their 10 bootstrap ticks unguarded; the clients' keys trip on the resulting queueing and stay open ~20 s",
	"security/clients' calls shed":   "same",
	"game-lod/critical calls":        "latency overload opens the circuit, which sheds critical calls too",
	"game-lod-v2/critical calls":     "same",
	"predictive-lod/starts shedding": "latency pressure becomes trauma only past 1.87× the learned baseline: no anticipation",
	"predictive-lod/serves ≥ 1.00×":  "same; then the circuit opens",
	"black-friday/critical calls":    "the circuit opens under pure overload and rejects checkout",
	"black-friday/high calls":        "same",
	"iot-dam/writes ≥ 70%":           "on/off instead of sampling: open for ~20 s at a time",
	"iot-dam/recovers":               "same: 19 s to heal from the scar the overload left",
	"game-lod-v2/does not latch":     "5 % spikes past the frame budget make ~1 timeout in 4 ticks of 20 calls: a trauma tick; RECOVERING needs 20 clean ticks in a row and re-opens on any trauma, so it never gets back",
	"domino/\"home\" requests":       "A's accept queue overflows in the first second, before any guard can see C; /home trips and stays open ~17 s",
	"autotuner/sheds at most":        "1 % background errors at 10 calls per tick make ~10 % of ticks read ≥ 10 % errors: trauma, scar, false trips",
	"autotuner/recovers":             "same",
	"flap-sine/changes state":        "heals and re-trips each cycle: more transitions than gobreaker",
	"flap-alternating/changes state": "same",
	"thundering-herd/recovers":       "the cold start's latency re-trips it; the learned recovery point (15) takes ~25 s to reach",
	"thundering-herd/serves ≥ 1.00×": "same",
}

func known(scenario, check string) (string, bool) {
	for k, why := range knownFailures {
		s, prefix, _ := strings.Cut(k, "/")
		if s == scenario && strings.HasPrefix(check, prefix) {
			return why, true
		}
	}
	return "", false
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
				why, isKnown := known(sc.Name, v.Check)
				switch {
				case !v.Pass && isKnown:
					t.Logf("known failure: %s — %s (%s)", v.Check, v.Seen, why)
				case !v.Pass:
					t.Errorf("%s — %s", v.Check, v.Seen)
				case isKnown:
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

// TestScenarioCatalogue pins the catalogue: the reference's thirteen plus
// six, unique names, each valid with checks.
func TestScenarioCatalogue(t *testing.T) {
	scs := Scenarios()
	if len(scs) != 19 {
		t.Fatalf("%d scenarios, want 19", len(scs))
	}
	seen := map[string]bool{}
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
	}
}
