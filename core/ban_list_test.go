package atrion_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

const login = "POST /login"

// sendKey sends n requests of key on route, each ending in c; it returns
// how many were admitted.
func sendKey(a *atrion.Atrion, route, key string, n int, c atrion.Class) (admitted int) {
	for range n {
		t, d := a.AdmitKey(route, key, atrion.PriorityNormal)
		if d.Allowed {
			admitted++
			t.Done(c)
		}
	}
	return admitted
}

// attack runs ticks in which five clients succeed and the bot fails, and
// returns the tick the bot was first refused in (−1: never).
func attack(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, bot string, ticks int) int {
	t.Helper()
	for i := range ticks {
		for c := range 5 {
			sendKey(a, login, fmt.Sprintf("client-%d", c), 3, atrion.Success)
		}
		if sendKey(a, login, bot, 10, atrion.Failure) < 10 {
			return i
		}
		clk.Advance(a.Tick())
	}
	return -1
}

// Given clients that succeed and a key whose calls all fail, when the
// evidence is enough, then the key is banned for the TTL, the clients are
// not, and the ban expires.
func TestBanOnFailures(t *testing.T) {
	var mu sync.Mutex
	var audit []atrion.AuditRecord
	a, clk := atriontest.New(t, atrion.WithBans(atrion.BanConfig{TTL: 10 * time.Second}),
		atrion.WithAudit(atrion.AuditFunc(func(r atrion.AuditRecord) { mu.Lock(); audit = append(audit, r); mu.Unlock() })))
	at := attack(t, a, clk, "bot-1", 20)
	if at < 0 || at > 5 {
		t.Fatalf("bot refused from tick %d, want within 5 ticks", at)
	}
	_, d := a.AdmitKey(login, "bot-1", atrion.PriorityNormal)
	if d.Allowed || d.Reason != atrion.ReasonBanned || d.RetryAfter <= 9*time.Second || d.RetryAfter > 10*time.Second {
		t.Fatalf("banned key: %+v, want rejected as banned with ~10s RetryAfter", d)
	}
	for c := range 5 {
		if banned, _ := a.Banned(fmt.Sprintf("client-%d", c)); banned {
			t.Fatalf("client-%d banned", c)
		}
	}
	bans := a.Bans()
	if len(bans) != 1 || bans[0].Key != "bot-1" || bans[0].Reason != "failures" || bans[0].Strikes != 1 {
		t.Fatalf("Bans() = %+v", bans)
	}
	clk.Advance(10 * time.Second)
	if banned, _ := a.Banned("bot-1"); banned {
		t.Fatal("ban did not expire after its TTL")
	}
	// a second ban doubles the TTL
	attack(t, a, clk, "bot-1", 20)
	if _, left := a.Banned("bot-1"); left <= 19*time.Second || left > 20*time.Second {
		t.Fatalf("second ban lasts %v, want 20s", left)
	}
	if s := a.BanStats(); s.Local != 2 || s.Rejected == 0 {
		t.Fatalf("BanStats = %+v", s)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var recs []atrion.AuditRecord
	for _, r := range audit {
		if r.Kind == atrion.AuditBan {
			recs = append(recs, r)
		}
	}
	if len(recs) != 2 || recs[0].Route != login || recs[0].Actor != "engine" || recs[0].ErrorBound < 0.5 ||
		!strings.Contains(recs[1].Detail, `"bot-1": failures, strike 2, for 20s`) {
		t.Fatalf("audit records of the bans: %+v", recs)
	}
}

// Given a service that fails every key's calls, then no key is banned: the
// failures are the service's, not a client's.
func TestNoBanWhenEveryKeyFails(t *testing.T) {
	a, clk := atriontest.New(t)
	for range 30 {
		for c := range 6 {
			sendKey(a, login, fmt.Sprintf("client-%d", c), 5, atrion.Failure)
		}
		clk.Advance(a.Tick())
	}
	if s := a.BanStats(); s.Local != 0 {
		t.Fatalf("%d keys banned while the service failed everyone", s.Local)
	}
}

// Given a lone key, its failures ban no one: there is no one else to tell
// its failures from the service's.
func TestNoBanForALoneKey(t *testing.T) {
	a, clk := atriontest.New(t)
	for range 30 {
		sendKey(a, login, "only", 10, atrion.Failure)
		clk.Advance(a.Tick())
	}
	if banned, _ := a.Banned("only"); banned {
		t.Fatal("a lone failing key was banned")
	}
}

// Given a key that holds most of a route's calls in flight while the
// route sheds other keys' requests, none of its calls failing, then it is
// never banned: volume is no abuse (MaxShare is retired, and ignored).
func TestNoBanForVolume(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithBans(atrion.BanConfig{MaxShare: 0.5})) // deprecated: accepted, ignored
	atriontest.Healthy(t, a, clk, login, 20)
	var held []atrion.KeyTicket
	shed := 0
	for range 40 {
		for range 60 {
			if t, d := a.AdmitKey(login, "hog", atrion.PriorityNormal); d.Allowed {
				held = append(held, t)
			} else {
				shed++
			}
		}
		sendKey(a, login, "client-1", 2, atrion.Success)
		sendKey(a, login, "client-2", 2, atrion.Success)
		// the hog's calls finish a tick later, so it keeps its share in flight
		for i := range held {
			held[i].Done(atrion.Success)
		}
		held = held[:0]
		clk.Advance(a.Tick())
		if b, _ := a.Banned("hog"); b {
			t.Fatalf("the hog, none of whose calls failed, was banned for its volume: %+v", a.Bans())
		}
	}
	if shed == 0 {
		t.Fatalf("the route never shed the hog: the test did not overload it")
	}
}

// Blame makes a client error (Ignored by the route) the key's evidence.
func TestBlame(t *testing.T) {
	a, clk := atriontest.New(t)
	banned := false
	for range 20 {
		sendKey(a, login, "client-1", 5, atrion.Success)
		sendKey(a, login, "client-2", 5, atrion.Success)
		for range 10 {
			if t, d := a.AdmitKey(login, "stuffer", atrion.PriorityNormal); d.Allowed {
				t.Blame()
				t.Done(atrion.Ignored)
			}
		}
		clk.Advance(a.Tick())
		if banned, _ = a.Banned("stuffer"); banned {
			break
		}
	}
	if !banned {
		t.Fatal("a key whose every request was blamed was not banned")
	}
	if s, _ := a.Snapshot(login); s.Mode == atrion.ModeCircuitOpen {
		t.Fatal("blamed client errors opened the route's circuit")
	}
}

// The ban list holds at most MaxBans: the soonest-expiring go first.
func TestBanCap(t *testing.T) {
	a, _ := atriontest.New(t, atrion.WithBans(atrion.BanConfig{MaxBans: 3}))
	for i := range 5 {
		if err := a.Ban(fmt.Sprintf("k%d", i), time.Duration(10-i)*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	for _, b := range a.Bans() {
		keys = append(keys, b.Key)
	}
	// k0 runs 10 minutes, k4 6: the three that expire last stay
	if strings.Join(keys, ",") != "k2,k1,k0" {
		t.Fatalf("bans %v, want k2,k1,k0 (soonest first)", keys)
	}
	if s := a.BanStats(); s.Evicted != 2 {
		t.Fatalf("evicted %d, want 2", s.Evicted)
	}
	if err := a.Ban("bad key\n", time.Minute); err == nil {
		t.Fatal("Ban took a key with a control character")
	}
	a.Unban("k1")
	if b, _ := a.Banned("k1"); b {
		t.Fatal("Unban left the ban")
	}
}

// Invalid keys pass unjudged and are counted; an empty key is plain Admit.
func TestInvalidKeys(t *testing.T) {
	a, _ := atriontest.New(t)
	for _, k := range []string{strings.Repeat("x", atrion.MaxClientKeyLen+1), "tab\tkey", "ключ"} {
		tk, d := a.AdmitKey(login, k, atrion.PriorityNormal)
		if !d.Allowed {
			t.Fatalf("key %q: rejected", k)
		}
		tk.Done(atrion.Failure)
	}
	if s := a.BanStats(); s.InvalidKeys != 3 {
		t.Fatalf("InvalidKeys = %d, want 3", s.InvalidKeys)
	}
	if err := a.Ban("tab\tkey", time.Minute); err == nil {
		t.Fatal("Ban took an invalid key")
	}
	if !atrion.ValidClientKey("203.0.113.7") || !atrion.ValidClientKey("2001:db8::1") || !atrion.ValidClientKey("tenant 42") {
		t.Fatal("an IP or a tenant name is not a valid key")
	}
}

func TestWithBansValidation(t *testing.T) {
	for _, c := range []struct {
		cfg   atrion.BanConfig
		field string
	}{
		{atrion.BanConfig{FailureRate: 2}, "FailureRate"},
		{atrion.BanConfig{MinCalls: -1}, "MinCalls"},
		{atrion.BanConfig{TTL: time.Millisecond}, "TTL"},
		{atrion.BanConfig{TTL: time.Hour, MaxTTL: time.Minute}, "MaxTTL"},
		{atrion.BanConfig{MaxBans: -1}, "MaxBans"},
	} {
		_, err := atrion.New(atrion.WithBans(c.cfg))
		if err == nil || !strings.Contains(err.Error(), "WithBans."+c.field) {
			t.Errorf("%+v: err %v, want one naming WithBans.%s", c.cfg, err, c.field)
		}
	}
	a, _ := atriontest.New(t)
	if err := a.Update(atrion.WithBans(atrion.BanConfig{})); err == nil {
		t.Error("Update took WithBans")
	}
}

// Checking a ban allocates nothing, with bans or without; a keyed
// admission of a key already tracked allocates nothing either.
func TestBanAllocs(t *testing.T) {
	a, _ := atriontest.New(t)
	if n := testing.AllocsPerRun(1000, func() { a.Banned("client-1") }); n != 0 {
		t.Errorf("Banned with no bans: %.1f allocs", n)
	}
	keyed := func() {
		tk, _ := a.AdmitKey(login, "client-1", atrion.PriorityNormal)
		tk.Done(atrion.Success)
	}
	keyed()
	if n := testing.AllocsPerRun(1000, keyed); n != 0 {
		t.Errorf("AdmitKey+Done: %.1f allocs", n)
	}
	for i := range 100 {
		a.Ban(fmt.Sprintf("bot-%d", i), time.Hour)
	}
	if n := testing.AllocsPerRun(1000, func() { a.Banned("client-1"); a.Banned("bot-7") }); n != 0 {
		t.Errorf("Banned with 100 bans: %.1f allocs", n)
	}
	if n := testing.AllocsPerRun(1000, keyed); n != 0 {
		t.Errorf("AdmitKey+Done with 100 bans: %.1f allocs", n)
	}
}

// Given a flood of keys used once, filling the evidence table, a key that
// keeps failing is still tracked, and banned.
func TestKeyFloodDoesNotHideABot(t *testing.T) {
	a, clk := atriontest.New(t, atrion.WithBans(atrion.BanConfig{MaxKeys: 64}))
	banned := false
	for i := range 30 {
		for j := range 100 {
			sendKey(a, login, fmt.Sprintf("once-%d-%d", i, j), 1, atrion.Success)
		}
		for c := range 3 {
			sendKey(a, login, fmt.Sprintf("client-%d", c), 3, atrion.Success)
		}
		sendKey(a, login, "bot", 10, atrion.Failure)
		clk.Advance(a.Tick())
		if banned, _ = a.Banned("bot"); banned {
			break
		}
	}
	if !banned {
		t.Fatalf("the bot hid behind a flood of one-off keys: %+v", a.BanStats())
	}
}
