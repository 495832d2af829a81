package atrion

import (
	"strings"
	"testing"
	"time"
)

// adoptList is a ban list on a manual clock holding at most maxBans, with
// one local ban, for adoption tests.
func adoptList(t testing.TB, maxBans int) (*banList, *ManualClock) {
	clk := NewManualClock(time.Unix(1700000000, 0))
	cfg, err := resolveBans(&BanConfig{MaxBans: maxBans}, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b := newBanList(cfg, newEngineClock(clk), 100*time.Millisecond, "me")
	b.mu.Lock()
	b.banLocked([]newBan{{key: "local", reason: "manual", ttl: time.Minute}}, b.clock.coarseNow())
	b.mu.Unlock()
	return b, clk
}

func noRefuse(BanRecord, string) {}

// Peers' bans fill the room left and then evict only each other, the
// soonest-expiring first; a node's own ban stays, and no adopted ban runs
// past MaxTTL.
func TestAdoptBounds(t *testing.T) {
	b, clk := adoptList(t, 3)
	var kinds []string
	b.audit = func(r AuditRecord) { kinds = append(kinds, string(r.Kind)+" "+r.Actor) }
	now := clk.Now()
	rec := func(key string, ttl time.Duration) BanRecord {
		return BanRecord{Key: key, At: now, Until: now.Add(ttl), Strikes: 1, NodeID: "peer"}
	}
	b.adopt([]BanRecord{rec("p1", 10*time.Minute), rec("p2", 20*time.Minute), rec("p3", 30*time.Minute)}, true, noRefuse)
	m := *b.active.Load()
	if len(m) != 3 || !m["local"].local {
		t.Fatalf("bans %v: want the local one and the two latest peers'", m)
	}
	if _, ok := m["p1"]; ok {
		t.Fatal("kept the soonest-expiring peer ban over later ones")
	}
	b.adopt([]BanRecord{rec("local", time.Hour)}, true, noRefuse)
	if e := (*b.active.Load())["local"]; !e.local || e.until > b.clock.coarseNow()+int64(time.Minute) {
		t.Fatal("a peer's record replaced or extended the node's own ban")
	}
	if s := b.stats.refused.Load(); s != 1 {
		t.Fatalf("refused %d, want 1 (p1, no room)", s)
	}
	b.adopt([]BanRecord{{Key: "future", At: now.Add(time.Hour), Until: now.Add(2 * time.Hour), NodeID: "peer"}}, true, noRefuse)
	if got := strings.Join(kinds, ","); got != "ban_refused peer,ban_adopted peer,ban_adopted peer,ban_refused peer" {
		t.Fatalf("audit: %s", got)
	}
}

// FuzzBanAdopt feeds arbitrary peer records to a ban list: it never
// panics, never holds more than MaxBans, never holds an invalid key, and
// no ban runs longer than MaxTTL from now.
func FuzzBanAdopt(f *testing.F) {
	f.Add("bot", int64(0), int64(time.Minute), 1, "peer", uint16(1))
	f.Add("x", int64(-time.Hour), int64(100*time.Hour), 64, "", uint16(300))
	f.Add("a\x00b", int64(time.Hour), int64(time.Second), -1, strings.Repeat("n", 300), uint16(5))
	f.Fuzz(func(t *testing.T, key string, atOff, ttl int64, strikes int, node string, n uint16) {
		b, clk := adoptList(t, 50)
		now := clk.Now()
		recs := make([]BanRecord, int(n)%1000)
		for i := range recs {
			k := key
			if i > 0 {
				k = key + strings.Repeat("+", i%40) + string(rune('a'+i%26))
			}
			at := now.Add(time.Duration(atOff))
			recs[i] = BanRecord{Key: k, At: at, Until: at.Add(time.Duration(ttl)), Strikes: strikes, NodeID: node}
		}
		b.adopt(recs, true, noRefuse)
		clk.Advance(time.Second)
		b.adopt(recs, true, noRefuse)
		m := b.active.Load()
		if m == nil {
			t.Fatal("the node's own ban is gone")
		}
		limit := b.clock.coarseNow() + int64(b.cfg.maxTTL)
		if len(*m) > b.cfg.maxBans {
			t.Fatalf("%d bans, cap %d", len(*m), b.cfg.maxBans)
		}
		for k, e := range *m {
			if !ValidClientKey(k) || e.until > limit {
				t.Fatalf("ban %q until %d (limit %d)", k, e.until, limit)
			}
		}
		if !(*m)["local"].local {
			t.Fatal("the node's own ban was evicted")
		}
	})
}

// A ban Unban lifted is not restored when the same record is read again;
// a later ban of the key is adopted.
func TestUnbanSticks(t *testing.T) {
	b, clk := adoptList(t, 10)
	a := &Atrion{bans: b}
	now := clk.Now()
	rec := BanRecord{Key: "k", At: now, Until: now.Add(time.Minute), Strikes: 1, NodeID: "peer"}
	b.adopt([]BanRecord{rec}, false, noRefuse)
	a.Unban("k")
	b.adopt([]BanRecord{rec}, false, noRefuse)
	if banned, _ := a.Banned("k"); banned {
		t.Fatal("the lifted ban came back on a resync")
	}
	rec.Until = now.Add(2 * time.Minute)
	b.adopt([]BanRecord{rec}, false, noRefuse)
	if banned, _ := a.Banned("k"); !banned {
		t.Fatal("a later ban of the key was not adopted")
	}
}
