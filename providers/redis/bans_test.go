package atrredis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
	"github.com/redis/go-redis/v9"
)

// banTick is the real-time tick of the ban tests.
const banTick = 20 * time.Millisecond

// banNode starts an engine on the system clock sharing bans through its
// own client to addr; its bans last ttl.
func banNode(t *testing.T, addr, id string, ttl time.Duration) *atrion.Atrion {
	t.Helper()
	c := redis.NewClient(redistest.Options(addr))
	t.Cleanup(func() { _ = c.Close() })
	p := newProvider(t, c)
	return atriontest.NewEngine(t, atrion.WithTick(banTick), atrion.WithNodeID(id), atrion.WithProvider(p),
		atrion.WithResync(200*time.Millisecond), atrion.WithBans(atrion.BanConfig{TTL: ttl}))
}

// Given three nodes on one Redis, when node A bans a key on its own
// evidence (clients succeed, the bot's calls fail), then B and C refuse
// it within a few ticks, the clients stay served everywhere, and the ban
// expires on every node.
func TestBanSharedAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	a := banNode(t, srv.Addr, "node-a", time.Second)
	b := banNode(t, srv.Addr, "node-b", time.Second)
	c := banNode(t, srv.Addr, "node-c", time.Second)
	time.Sleep(100 * time.Millisecond) // the subscriptions settle

	const route = "POST /login"
	deadline := time.Now().Add(5 * time.Second)
	for banned, _ := a.Banned("bot"); !banned; banned, _ = a.Banned("bot") {
		if time.Now().After(deadline) {
			t.Fatalf("node A did not ban the bot within 5s: %+v", a.BanStats())
		}
		for k := range 4 {
			if tk, d := a.AdmitKey(route, fmt.Sprintf("client-%d", k), atrion.PriorityNormal); d.Allowed {
				tk.Done(atrion.Success)
			}
		}
		if tk, d := a.AdmitKey(route, "bot", atrion.PriorityNormal); d.Allowed {
			tk.Done(atrion.Failure)
		}
		time.Sleep(time.Millisecond)
	}
	bannedAt := a.Bans()[0].Until.Add(-time.Second) // when A decided it
	waitFor(t, 2*time.Second, "B and C to refuse the bot", func() bool {
		bb, _ := b.Banned("bot")
		cb, _ := c.Banned("bot")
		return bb && cb
	})
	lag := time.Since(bannedAt)
	t.Logf("B and C refused the bot %v (%.1f ticks) after A banned it", lag.Round(time.Millisecond), float64(lag)/float64(banTick))
	for _, n := range []*atrion.Atrion{b, c} {
		if _, d := n.AdmitKey(route, "bot", atrion.PriorityNormal); d.Allowed || d.Reason != atrion.ReasonBanned || d.RetryAfter <= 0 {
			t.Fatalf("%s admitted the banned bot: %+v", n.NodeID(), d)
		}
		if tk, d := n.AdmitKey(route, "client-1", atrion.PriorityNormal); !d.Allowed {
			t.Fatalf("%s refused a client: %+v", n.NodeID(), d)
		} else {
			tk.Done(atrion.Success)
		}
		if bs := n.Bans(); len(bs) != 1 || bs[0].Reason != "peer" || bs[0].NodeID != "node-a" {
			t.Fatalf("%s: bans %+v, want the one adopted from node-a", n.NodeID(), bs)
		}
		if s := n.BanStats(); s.Local != 0 || s.Adopted == 0 {
			t.Fatalf("%s: %+v", n.NodeID(), s)
		}
	}
	waitFor(t, 3*time.Second, "the ban to expire on every node", func() bool {
		for _, n := range []*atrion.Atrion{a, b, c} {
			if banned, _ := n.Banned("bot"); banned {
				return false
			}
		}
		return true
	})
	// a node that starts while a ban is in force reads it from Redis
	if err := a.Ban("scraper", time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "the manual ban to reach B", func() bool { banned, _ := b.Banned("scraper"); return banned })
	d := banNode(t, srv.Addr, "node-d", time.Second)
	waitFor(t, 2*time.Second, "a new node to load the bans in force", func() bool { banned, _ := d.Banned("scraper"); return banned })
}

// Given a hostile peer that publishes well-formed ban records on the
// channel and under the ban keys, then the engine refuses each record
// beyond its bounds (a TTL past MaxTTL, a time in the future, a bad key,
// a batch past MaxBanBatch) and counts it, adopts only what a real peer
// could have sent, and never lets adopted bans push out its own.
func TestBanHostilePeerRefused(t *testing.T) {
	srv := redistest.Start(t)
	rc := srv.Client()
	n := banNode(t, srv.Addr, "node-b", time.Second) // MaxTTL: 1h
	if err := n.Ban("own-ban", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	now := time.Now()
	rec := func(key string, at time.Time, ttl time.Duration) map[string]any {
		return map[string]any{"k": key, "at": at.UnixNano(), "until": at.Add(ttl).UnixNano(), "s": 1, "n": "evil"}
	}
	publish := func(bans ...map[string]any) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"src": "evil", "bans": bans})
		if err := rc.Publish(context.Background(), atrredis.DefaultBanChannel, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	publish(
		rec("forever", now, 100*time.Hour),                          // beyond MaxTTL
		rec("from-2100", now.Add(70*365*24*time.Hour), time.Minute), // dated in the future
		rec("bad\nkey", now, time.Minute),                           // a control character
		rec("fair", now, 2*time.Minute),                             // what a real peer sends
	)
	waitFor(t, 2*time.Second, "the hostile records to be judged", func() bool { return n.BanStats().Refused >= 3 })
	for _, k := range []string{"forever", "from-2100", "bad\nkey"} {
		if banned, _ := n.Banned(k); banned {
			t.Fatalf("adopted the hostile record %q", k)
		}
	}
	waitFor(t, time.Second, "the fair record", func() bool { banned, _ := n.Banned("fair"); return banned })

	// a flood: one batch of 1,000 records; past MaxBanBatch they are refused
	var flood []map[string]any
	for i := range 1000 {
		flood = append(flood, rec(fmt.Sprintf("flood-%d", i), now, time.Hour))
	}
	time.Sleep(3 * banTick) // a tick of its own: at most MaxBanBatch adopted per tick
	before := n.BanStats()
	publish(flood...)
	waitFor(t, 2*time.Second, "the flood to be judged", func() bool {
		s := n.BanStats()
		return s.Adopted-before.Adopted+s.Refused-before.Refused >= 1000
	})
	s := n.BanStats()
	if got := s.Adopted - before.Adopted; got != atrion.MaxBanBatch {
		t.Fatalf("adopted %d of a 1,000-record batch, want MaxBanBatch (%d)", got, atrion.MaxBanBatch)
	}
	if banned, _ := n.Banned("own-ban"); !banned {
		t.Fatal("the flood pushed out the node's own ban")
	}

	// a stored record past MaxTTL is refused when a node loads it
	b, _ := json.Marshal(rec("stored-forever", now, 100*time.Hour))
	if err := rc.Set(context.Background(), atrredis.DefaultBanPrefix+"stored-forever", b, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Set(context.Background(), atrredis.DefaultBanPrefix+"garbage", "{not json", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	fresh := banNode(t, srv.Addr, "node-c", time.Second)
	waitFor(t, 2*time.Second, "the new node to refuse the stored record", func() bool { return fresh.BanStats().Refused > 0 })
	if banned, _ := fresh.Banned("stored-forever"); banned {
		t.Fatal("a new node adopted a stored ban past MaxTTL")
	}
	if banned, _ := fresh.Banned("fair"); banned {
		t.Fatal("a new node adopted a ban published only on the channel, never stored")
	}
}

func TestBanOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, o := range []atrredis.Option{
		atrredis.WithBanPrefix(""), atrredis.WithBanPrefix("atrion:state:bans:"),
		atrredis.WithBanChannel(atrredis.DefaultChannel),
	} {
		if _, err := atrredis.New(c, o); err == nil {
			t.Error("New took an overlapping or empty ban prefix or channel")
		}
	}
}
