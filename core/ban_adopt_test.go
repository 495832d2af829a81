package atrion

import (
	"context"
	"log/slog"
	"strconv"
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
		return BanRecord{Key: key, At: now, Until: now.Add(ttl), Strikes: 1, Reason: "manual", NodeID: "peer"}
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
	rec.Until, rec.Strikes = now.Add(2*time.Minute), 2 // banned again there: its second strike
	b.adopt([]BanRecord{rec}, false, noRefuse)
	if banned, _ := a.Banned("k"); !banned {
		t.Fatal("a later ban of the key was not adopted")
	}
}

// A peer's ban on evidence lasts what its strikes give a ban here, however
// long the record claims: one hostile record cannot ban a key for MaxTTL
// with a first strike. A manual ban keeps its length (within MaxTTL).
func TestPeerBanBoundedByItsStrikes(t *testing.T) {
	for _, tc := range []struct {
		strikes int
		reason  string
		want    time.Duration
	}{{1, "failures", time.Minute}, {3, "failures", 4 * time.Minute}, {0, "failures", time.Minute},
		{40, "failures", time.Hour}, {1, "", time.Minute}, {1, "manual", time.Hour}} {
		b, clk := adoptList(t, 10)
		now := clk.Now()
		b.adopt([]BanRecord{{Key: "victim", At: now, Until: now.Add(time.Hour), Strikes: tc.strikes, Reason: tc.reason, NodeID: "evil"}}, true, noRefuse)
		e, ok := (*b.active.Load())["victim"]
		if left := time.Duration(e.until - b.clock.coarseNow()); !ok || left != tc.want {
			t.Errorf("%q ban with %d strikes claiming an hour: adopted %v for %v, want %v", tc.reason, tc.strikes, ok, left, tc.want)
		}
	}
}

// storedBans is a BanSharer whose store holds recs.
type storedBans struct{ recs []BanRecord }

func (p *storedBans) PublishBans(context.Context, []BanRecord) error         { return nil }
func (p *storedBans) SubscribeBans(context.Context, func([]BanRecord)) error { return nil }
func (p *storedBans) LoadBans(context.Context) ([]BanRecord, error)          { return p.recs, nil }

// Stored bans are adopted at most MaxBanBatch a tick, like the channel's:
// a resync that finds 10,000 records cannot replace the adopted bans in
// one go, and the rest come at the next ticks' resyncs.
func TestStoredBansPaced(t *testing.T) {
	clk := NewManualClock(time.Unix(1700000000, 0))
	a, err := New(WithClock(clk), WithBans(BanConfig{MaxBans: 20000}), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	now := clk.Now()
	p := &storedBans{recs: make([]BanRecord, 10000)}
	for i := range p.recs {
		p.recs[i] = BanRecord{Key: "k" + strconv.Itoa(i), At: now, Until: now.Add(time.Minute), Strikes: 1, NodeID: "peer"}
	}
	s := &banSync{b: a.bans, a: a, p: p, log: &rateLimit{every: 10 * time.Second}}
	s.load(context.Background())
	if n := len(*a.bans.active.Load()); n != MaxBanBatch {
		t.Fatalf("one resync adopted %d of 10,000 stored bans in a tick, want %d", n, MaxBanBatch)
	}
	clk.Advance(100 * time.Millisecond)
	s.load(context.Background())
	if n := len(*a.bans.active.Load()); n != 2*MaxBanBatch {
		t.Fatalf("the next tick's resync: %d adopted, want %d", n, 2*MaxBanBatch)
	}
}
