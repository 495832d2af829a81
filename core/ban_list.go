package atrion

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Cluster-wide bans of client keys: a key (an API key's ID, a tenant, an
// IP) whose own calls fail while other keys' calls on the same route
// succeed is banned for a TTL that doubles with each ban (capped), on this
// node and, through a provider that implements BanSharer, on every node.
// Checking a ban is one atomic load while none is active.

// BanConfig configures bans of client keys (WithBans). Its zero value
// means the defaults; evidence bans only keys that requests name through
// AdmitKey.
type BanConfig struct {
	// Disabled turns evidence off: no key is banned on its own calls.
	// Bans made with Ban and peers' bans still apply.
	Disabled bool
	// MinCalls is how many recent calls (decayed over Window) a key needs
	// on a route before its evidence counts (default 20).
	MinCalls float64
	// FailureRate bans a key once the Wilson lower bound of its failure
	// rate on a route reaches it while other keys, failing at most half as
	// often, made at least MinCalls calls on the route: the service works,
	// for others (default 0.5).
	FailureRate float64
	// MaxShare is accepted and ignored.
	//
	// Deprecated: no key is banned for its volume any more (issue 28). A
	// big, well-behaved tenant is a customer, not an abuser, and a volume
	// ban was a tool an attacker could turn on its victims; a route's
	// limit is shared among its keys instead (fair shares). Kept so that
	// configurations that set it still build and parse.
	MaxShare float64
	// Window is the time constant of the evidence (default 100 ticks, 10
	// s by default): long enough that a key making a few calls a second on
	// each of several nodes still gathers MinCalls on each.
	Window time.Duration
	// TTL is a first ban's length; each ban of a key within MaxTTL of its
	// last one doubles it (default 1 minute).
	TTL time.Duration
	// MaxTTL caps every ban, peers' included (default 1 hour).
	MaxTTL time.Duration
	// MaxBans caps the bans held; when full, the soonest-expiring go first
	// (default 10,000).
	MaxBans int
	// MaxKeys caps the keys whose evidence is tracked at once (default
	// 10,000). When full, a new key takes the place of one with less than
	// two calls; failing that, it is not judged until room frees up.
	MaxKeys int
}

// WithBans configures bans of client keys (see BanConfig; bans are on
// with the defaults without it).
func WithBans(c BanConfig) Option { return func(cfg *config) { cfg.bans = &c } }

// MaxClientKeyLen is the longest client key judged and banned; a longer
// key, an empty one, or one with bytes outside printable ASCII (0x20 to
// 0x7E) is passed through unjudged and counted (BanStats.InvalidKeys).
// Keys travel to the provider and into logs: derive them from an identity
// (a tenant ID, an API key's ID or hash), never pass a secret.
const MaxClientKeyLen = 128

// ValidClientKey reports whether key can be judged and banned (see
// MaxClientKeyLen).
func ValidClientKey(key string) bool {
	if key == "" || len(key) > MaxClientKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7E {
			return false
		}
	}
	return true
}

// banCfg is a validated BanConfig.
type banCfg struct {
	disabled            bool
	minCalls, failRate  float64
	window, ttl, maxTTL time.Duration
	maxBans, maxKeys    int
}

func resolveBans(c *BanConfig, tick time.Duration) (banCfg, error) {
	if c == nil {
		c = &BanConfig{}
	}
	b := banCfg{disabled: c.Disabled, minCalls: c.MinCalls, failRate: c.FailureRate,
		window: c.Window, ttl: c.TTL, maxTTL: c.MaxTTL, maxBans: c.MaxBans, maxKeys: c.MaxKeys}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&b.minCalls, 20)
	def(&b.failRate, 0.5)
	if b.window == 0 {
		b.window = 100 * tick
	}
	if b.ttl == 0 {
		b.ttl = time.Minute
	}
	if b.maxTTL == 0 {
		b.maxTTL = max(time.Hour, b.ttl)
	}
	if b.maxBans == 0 {
		b.maxBans = 10_000
	}
	if b.maxKeys == 0 {
		b.maxKeys = 10_000
	}
	switch {
	case !finite(b.minCalls) || b.minCalls < 1:
		return b, fieldErr("WithBans.MinCalls", c.MinCalls, "must be ≥ 1")
	case !finite(b.failRate) || b.failRate <= 0 || b.failRate > 1:
		return b, fieldErr("WithBans.FailureRate", c.FailureRate, "must be in (0, 1]")
	case b.window < tick || b.window > time.Hour:
		return b, fieldErr("WithBans.Window", c.Window, "must be between one tick and 1h")
	case b.ttl < time.Second || b.ttl > 24*time.Hour:
		return b, fieldErr("WithBans.TTL", c.TTL, "must be between 1s and 24h")
	case b.maxTTL < b.ttl || b.maxTTL > 7*24*time.Hour:
		return b, fieldErr("WithBans.MaxTTL", c.MaxTTL, "must be between TTL and 168h")
	case b.maxBans < 1 || b.maxBans > 1_000_000:
		return b, fieldErr("WithBans.MaxBans", c.MaxBans, "must be between 1 and 1,000,000")
	case b.maxKeys < 1 || b.maxKeys > 1_000_000:
		return b, fieldErr("WithBans.MaxKeys", c.MaxKeys, "must be between 1 and 1,000,000")
	}
	return b, nil
}

// Ban is one active ban, as Bans lists it.
type Ban struct {
	Key     string
	Until   time.Time
	Strikes int    // bans of this key so far, this one included (its TTL doubled Strikes−1 times)
	Reason  string // "failures", "manual", or "peer" for a ban adopted from another node
	NodeID  string // the node that decided it
}

// banEntry is an active ban in the hot path's map.
type banEntry struct {
	until   int64 // engine ns
	strikes uint8
	local   bool // decided here (evidence or Ban), not adopted from a peer
	reason  string
	node    string
}

// banMap is the active bans, replaced whole (copy on write) so that the
// hot path reads it without a lock.
type banMap map[string]banEntry

// strike is what a key's earlier bans leave behind: their count, for the
// back-off, forgotten after MaxTTL without a ban.
type strike struct {
	n        uint8
	forgetAt int64
}

// banList is the engine's bans: the active map the hot path reads, the
// evidence that fills it, and the strikes behind each key's back-off.
type banList struct {
	// active is nil while no ban is held: the hot path's whole cost then
	active atomic.Pointer[banMap]
	// soonest is the earliest expiry in active, so that expired bans are
	// dropped without a scan per tick
	soonest atomic.Int64

	cfg   banCfg
	clock *engineClock
	tick  int64
	node  string

	mu      sync.Mutex // guards the writers of active, strikes and pending
	strikes map[string]strike
	lifted  map[string]int64  // bans Unban lifted, by key: their end, so that reading them again does not restore them
	pending []BanRecord       // local bans not yet handed to the provider
	wake    func()            // tells the sync loop that pending grew; nil without one
	audit   func(AuditRecord) // nil without sinks
	// adoptTickEnd and adoptedInTick pace peers' bans: MaxBanBatch a tick
	adoptTickEnd  int64
	adoptedInTick int

	ev keyEvidence

	stats banCounters
}

type banCounters struct {
	local, adopted, rejected, refused, evicted atomic.Uint64
	invalidKeys, untracked, dropped            atomic.Uint64
}

// BanStats are the ban list's own counters.
type BanStats struct {
	Active   int    // bans held now (some may have just expired)
	Local    uint64 // bans decided on this node: evidence and Ban
	Adopted  uint64 // peers' bans adopted
	Rejected uint64 // requests rejected because their key was banned
	// Refused counts peers' ban records refused: a bad key, a TTL beyond
	// MaxTTL, a time ahead of the local clock by more than
	// MaxPeerClockSkew, an oversized batch, or no room left for them.
	Refused uint64
	Evicted uint64 // bans evicted to make room (the soonest-expiring first)
	// InvalidKeys counts requests whose client key was not valid
	// (ValidClientKey): passed through unjudged.
	InvalidKeys uint64
	// Untracked counts calls of keys not judged because MaxKeys keys with
	// evidence were already tracked.
	Untracked uint64
	// Dropped counts local bans not shared because too many were waiting
	// for the provider.
	Dropped uint64
}

func newBanList(cfg banCfg, clock *engineClock, tick time.Duration, node string) *banList {
	b := &banList{cfg: cfg, clock: clock, tick: int64(tick), node: node, strikes: map[string]strike{}, lifted: map[string]int64{}}
	b.ev.init(cfg, int64(tick), clock.coarseNow())
	return b
}

// banned reports whether key is banned at coarse engine time now, and for
// how much longer.
func (b *banList) banned(key string) (bool, time.Duration) {
	m := b.active.Load()
	if m == nil {
		return false, 0
	}
	return b.lookup(*m, key)
}

func (b *banList) lookup(m banMap, key string) (bool, time.Duration) {
	e, ok := m[key]
	if !ok {
		return false, 0
	}
	left := e.until - b.clock.coarseNow()
	if left <= 0 {
		return false, 0
	}
	return true, time.Duration(left)
}

// Banned reports whether key is banned, and for how much longer. It does
// not allocate; while no ban is held it is one atomic load.
func (a *Atrion) Banned(key string) (banned bool, retryAfter time.Duration) {
	return a.bans.banned(key)
}

// Ban bans key on this node for ttl (at most MaxTTL), shared with peers
// like a ban on evidence. It is for operators; an invalid key or a ttl ≤ 0
// is an error.
func (a *Atrion) Ban(key string, ttl time.Duration) error {
	if !ValidClientKey(key) {
		return errors.New("atrion: Ban: invalid client key (see ValidClientKey)")
	}
	if ttl <= 0 {
		return errors.New("atrion: Ban: ttl must be > 0")
	}
	b := a.bans
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.coarseNow()
	b.banLocked([]newBan{{key: key, reason: "manual", ttl: min(ttl, b.cfg.maxTTL)}}, now)
	return nil
}

// Unban lifts key's ban on this node and forgets its strikes; the same
// ban read again from the provider is not adopted again (a later one is).
// Peers keep their copy until it expires: a ban is cheap to wait out, and
// an unban that peers obeyed would let any of them lift every ban. To lift
// a mistaken ban everywhere, Unban it on every node and delete it from the
// provider (atrredis: DEL atrion:ban:<key>), so that starting nodes do
// not load it.
func (a *Atrion) Unban(key string) {
	b := a.bans
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.strikes, key)
	m := b.active.Load()
	if m == nil {
		return
	}
	e, ok := (*m)[key]
	if !ok {
		return
	}
	now := b.clock.coarseNow()
	if len(b.lifted) >= b.cfg.maxBans {
		for k, until := range b.lifted {
			if until <= now {
				delete(b.lifted, k)
			}
		}
	}
	if len(b.lifted) < b.cfg.maxBans {
		b.lifted[key] = e.until
	}
	b.rebuildLocked(now, nil, func(k string) bool { return k == key })
}

// Bans returns the active bans, soonest-expiring first.
func (a *Atrion) Bans() []Ban {
	b := a.bans
	m := b.active.Load()
	if m == nil {
		return nil
	}
	now := b.clock.coarseNow()
	out := make([]Ban, 0, len(*m))
	for k, e := range *m {
		if e.until > now {
			out = append(out, Ban{Key: k, Until: b.clock.wall(e.until), Strikes: int(e.strikes), Reason: e.reason, NodeID: e.node})
		}
	}
	slices.SortFunc(out, func(x, y Ban) int { return x.Until.Compare(y.Until) })
	return out
}

// BanStats returns the ban list's counters.
func (a *Atrion) BanStats() BanStats {
	b := a.bans
	n := 0
	if m := b.active.Load(); m != nil {
		n = len(*m)
	}
	return BanStats{
		Active: n, Local: b.stats.local.Load(), Adopted: b.stats.adopted.Load(), Rejected: b.stats.rejected.Load(),
		Refused: b.stats.refused.Load(), Evicted: b.stats.evicted.Load(), InvalidKeys: b.stats.invalidKeys.Load(),
		Untracked: b.stats.untracked.Load(), Dropped: b.stats.dropped.Load(),
	}
}

// newBan is a ban decided here, before it has a TTL.
type newBan struct {
	key, reason string
	ttl         time.Duration // 0: the back-off decides
	// the evidence, for the audit trail: where, the key's failure rate and
	// its Wilson lower bound
	route       string
	rate, bound float64
}

// Audit record kinds of bans (see AuditRecord; Detail names the key).
const (
	AuditBan        AuditKind = "ban"         // a key banned here, on evidence (Actor "engine") or by Ban
	AuditBanAdopted AuditKind = "ban_adopted" // a peer's ban adopted (Actor: the peer's node ID)
	AuditBanRefused AuditKind = "ban_refused" // a peer's ban refused (Detail: why)
)

// maxPending bounds the local bans waiting for the provider.
const maxPending = 4 * MaxBanBatch

// banLocked bans each key (those already banned are skipped) with a TTL
// that doubles per strike, in one rebuild of the active map, and queues
// them for the provider. Caller holds mu.
func (b *banList) banLocked(bans []newBan, now int64) {
	cur := b.activeLocked()
	add := make(map[string]banEntry, len(bans))
	for _, nb := range bans {
		if e, ok := cur[nb.key]; ok && e.until > now && nb.reason != "manual" {
			continue
		}
		s := b.strikes[nb.key]
		if s.forgetAt <= now {
			s.n = 0
		}
		s.n = min(s.n+1, 63)
		ttl := nb.ttl
		if ttl == 0 {
			ttl = strikeTTL(b.cfg.ttl, b.cfg.maxTTL, int(s.n))
		}
		until := now + int64(ttl)
		s.forgetAt = until + int64(b.cfg.maxTTL)
		b.strikes[nb.key] = s
		add[nb.key] = banEntry{until: until, strikes: s.n, local: true, reason: nb.reason, node: b.node}
		b.stats.local.Add(1)
		if b.audit != nil {
			actor := "engine"
			if nb.reason == "manual" {
				actor = "Ban"
			}
			b.audit(AuditRecord{Time: b.clock.wall(now), Kind: AuditBan, Actor: actor, Route: nb.route,
				ErrorRate: nb.rate, ErrorBound: nb.bound,
				Detail: fmt.Sprintf("key %q: %s, strike %d, for %v", nb.key, nb.reason, s.n, time.Duration(ttl))})
		}
		if b.wake != nil {
			if len(b.pending) >= maxPending {
				b.stats.dropped.Add(1)
			} else {
				b.pending = append(b.pending, BanRecord{Key: nb.key, At: b.clock.wall(now), Until: b.clock.wall(until),
					Strikes: int(s.n), Reason: nb.reason, NodeID: b.node})
			}
		}
	}
	if len(add) == 0 {
		return
	}
	b.rebuildLocked(now, add, nil)
	b.pruneStrikesLocked(now)
	if b.wake != nil && len(b.pending) > 0 {
		b.wake()
	}
}

// activeLocked is the active map (empty when none). Caller holds mu.
func (b *banList) activeLocked() banMap {
	if m := b.active.Load(); m != nil {
		return *m
	}
	return nil
}

// rebuildLocked replaces the active map by the current one without
// expired bans and those drop names, plus add (which replaces existing
// bans of its keys), held to MaxBans by evicting the soonest-expiring.
// An empty result stores nil, so that the hot path is back to one load.
// Caller holds mu.
func (b *banList) rebuildLocked(now int64, add map[string]banEntry, drop func(string) bool) {
	cur := b.activeLocked()
	next := make(banMap, len(cur)+len(add))
	for k, e := range cur {
		if e.until > now && (drop == nil || !drop(k)) {
			next[k] = e
		}
	}
	for k, e := range add {
		next[k] = e
	}
	if over := len(next) - b.cfg.maxBans; over > 0 {
		for _, k := range soonest(next, over) {
			delete(next, k)
		}
		b.stats.evicted.Add(uint64(over))
	}
	b.storeLocked(next)
}

// storeLocked makes next the active map; an empty one stores nil, so that
// the hot path is back to one load. Caller holds mu.
func (b *banList) storeLocked(next banMap) {
	first := int64(math.MaxInt64)
	for _, e := range next {
		first = min(first, e.until)
	}
	b.soonest.Store(first)
	if len(next) == 0 {
		b.active.Store(nil)
		return
	}
	b.active.Store(&next)
}

// soonest returns the keys of the n soonest-expiring bans of m.
func soonest(m banMap, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(m[x].until, m[y].until) })
	return keys[:n]
}

// pruneStrikesLocked forgets strikes past their time, and the oldest when
// more keys have strikes than twice MaxBans. Caller holds mu.
func (b *banList) pruneStrikesLocked(now int64) {
	limit := 2 * b.cfg.maxBans
	if len(b.strikes) <= limit {
		return
	}
	for k, s := range b.strikes {
		if s.forgetAt <= now {
			delete(b.strikes, k)
		}
	}
	if over := len(b.strikes) - limit; over > 0 {
		keys := make([]string, 0, len(b.strikes))
		for k := range b.strikes {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(b.strikes[x].forgetAt, b.strikes[y].forgetAt) })
		for _, k := range keys[:over] {
			delete(b.strikes, k)
		}
	}
}
