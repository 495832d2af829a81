package atrreplay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Replay: a recording's demand, tick by tick, through a fresh engine on a
// manual clock. Each route tick's recorded demand (admitted + shed) is
// offered spread evenly over the tick, and the engine decides. The calls
// ended in each recorded tick are ended again, spread over the tick, with
// the tick's outcome counts exactly (success, failure, ignored, slow) and
// its mean latency (DoneLatency): each ends the oldest replayed call that
// stands for a recorded admission, so with the recorded settings the
// replayed engine sees the recorded in-flight across tick boundaries, tick
// for tick. A call the recording did not admit (other settings admit
// more) ends in the first later tick whose recorded mean latency L would
// have it end inside that tick, with that latency and an outcome in that
// tick's mix; a recorded end with no call left (other settings admitted
// fewer) is skipped. Every recorded tick is closed at its end (Snapshot),
// as the next request or a reader of its state did then, unless a silent
// stretch follows it (closedWithGap): then both close together, when the
// stretch's own poke or the next request comes.

// Settings are the configuration a replay runs with.
type Settings struct {
	Name string // for reports: "recorded", "new.json"
	// Options configure the engine, on top of the manual clock and the
	// recording's tick.
	Options []atrion.Option
	// Reconfigs are applied with Update at their times.
	Reconfigs []Reconfig
}

// RecordedSettings are the settings rec ran with: its header's
// configuration, and its configuration changes at their times.
func RecordedSettings(rec *Recording) (Settings, error) {
	opts, err := parseConfig(rec.Config, "the recorded configuration")
	if err != nil {
		return Settings{}, err
	}
	for _, rc := range rec.Reconfigs {
		if _, err := parseConfig(rc.Config, "a recorded configuration change"); err != nil {
			return Settings{}, err
		}
	}
	return Settings{Name: "recorded settings", Options: opts, Reconfigs: rec.Reconfigs}, nil
}

// NewSettings are config (a configuration file, ParseConfig's schema) in
// place of rec's recorded settings, from the start, as a reload of that
// file would apply it: the file is the whole configuration, and what it
// does not name is the default (ParseConfig). The
// recording's own configuration changes are not applied: the question is
// what these settings would have done.
func NewSettings(rec *Recording, name string, config []byte) (Settings, error) {
	opts, err := parseConfig(config, name)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Name: name, Options: opts}, nil
}

func parseConfig(cfg []byte, what string) ([]atrion.Option, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	opts, err := atrion.ParseConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("atrreplay: %s: %w", what, err)
	}
	return opts, nil
}

// Result is one run over a recording: what the recorded engine did
// (Recorded), or what a replayed one did (Replay), as ticks and
// transitions on the recording's time axis.
type Result struct {
	Name        string
	Routes      []string // Tick.Route indexes it; the recording's routes first
	Ticks       []Tick
	Transitions []Transition
	// replays only
	Offered uint64 // requests offered
	Clamped uint64 // requests (and ends) not replayed: ticks beyond MaxRate (or MaxTickDemand)
	// Extra counts the calls admitted beyond the recorded admissions of
	// their tick, whose ends are estimated (above); Skipped the recorded
	// ends left with no call to end.
	Extra, Skipped uint64
	InFlight       int // calls still in flight at the recording's end
}

// Recorded is the recording itself as a Result.
func Recorded(rec *Recording) *Result {
	return &Result{Name: "recorded", Routes: rec.Routes, Ticks: rec.Ticks, Transitions: rec.Transitions}
}

// Bounds of a replay: a hostile recording is clamped, not obeyed.
const (
	// MaxRate is the most requests a second a replay offers one route:
	// about the most one route of one process serves (a recording is one
	// engine's), so that a replay's work is bounded by the recording's
	// span and not by the counts a file claims. A tick offers at most
	// MaxRate × its length (10,000 at 100 ms ticks), and never more than
	// MaxTickDemand; more are counted in Result.Clamped.
	MaxRate = 100_000
	// MaxTickDemand is the most requests a replay offers in one route
	// tick, however long.
	MaxTickDemand = 100_000
	// MaxOffered bounds the requests one replay offers in all.
	MaxOffered = 500_000_000
)

// Replay runs rec's recorded demand through a new engine configured by s
// on a manual clock, and returns what that engine did. Requests are
// offered at PriorityNormal (a recording has no priorities); demand is
// replayed as recorded, open-loop, so retries the recorded sheds caused
// are in it and none that other settings would cause.
func Replay(rec *Recording, s Settings) (*Result, error) {
	p, err := newPlan(rec)
	if err != nil {
		return nil, err
	}
	reconf := make([][]atrion.Option, len(s.Reconfigs))
	for i, rc := range s.Reconfigs {
		if reconf[i], err = parseConfig(rc.Config, "a configuration change"); err != nil {
			return nil, err
		}
	}
	col := newCollector(rec)
	clk := atrion.NewManualClock(rec.Start.Add(time.Duration(p.origin)))
	opts := append([]atrion.Option{atrion.WithClock(clk), atrion.WithTick(rec.Tick), atrion.WithObserver(col)}, s.Options...)
	a, err := atrion.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("atrreplay: %s: %w", s.Name, err)
	}
	rp := &replayer{rec: rec, p: p, a: a, clk: clk, now: p.origin, res: &Result{Name: s.Name},
		tickLen: int64(rec.Tick), routes: make([]routeReplay, len(rec.Routes))}
	for i := range rec.Routes {
		if len(p.ticks[i]) > 0 {
			rp.push(item{at: p.start(rec, p.ticks[i][0]), kind: itemTick, route: int32(i)})
		}
	}
	for i, rc := range s.Reconfigs {
		rp.push(item{at: int64(rc.At), kind: itemReconfig, idx: i})
	}
	err = rp.run(reconf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(err, a.Flush(ctx))
	if st := a.Stats(); st.ObserverDrops > 0 {
		err = errors.Join(err, fmt.Errorf("atrreplay: the replay's observer dropped %d events", st.ObserverDrops))
	}
	err = errors.Join(err, a.Close(ctx))
	if err != nil {
		return nil, err
	}
	for i := range rp.routes {
		rp.res.InFlight += len(rp.routes[i].queue) - rp.routes[i].head
		rp.res.Skipped += uint64(len(rp.routes[i].owed))
	}
	col.into(rp.res)
	return rp.res, nil
}

// plan is a recording's ticks per route in time order, and where calls
// can end.
type plan struct {
	ticks  [][]int32 // per route: its ticks (indices into rec.Ticks), by At
	ends   [][]int32 // per route: its ticks in which calls ended
	origin int64     // the earliest time the replay needs
	last   int64     // the latest tick end
}

func newPlan(rec *Recording) (*plan, error) {
	p := &plan{ticks: make([][]int32, len(rec.Routes)), ends: make([][]int32, len(rec.Routes)), origin: math.MaxInt64, last: math.MinInt64}
	var offered uint64
	for i := range rec.Ticks {
		tk := &rec.Ticks[i]
		if int(tk.Route) >= len(rec.Routes) || tk.Route < 0 {
			return nil, fmt.Errorf("atrreplay: tick %d names route %d of %d", i, tk.Route, len(rec.Routes))
		}
		p.ticks[tk.Route] = append(p.ticks[tk.Route], int32(i))
		offered += min(tk.Demand(), p.tickCap(rec, int32(i)))
		p.origin = min(p.origin, p.start(rec, int32(i)))
		p.last = max(p.last, int64(tk.At))
	}
	if offered > MaxOffered {
		return nil, fmt.Errorf("atrreplay: the recording offers %d requests, more than a replay's %d", offered, MaxOffered)
	}
	for _, rc := range rec.Reconfigs {
		p.origin = min(p.origin, int64(rc.At))
	}
	if p.origin == math.MaxInt64 {
		return nil, errors.New("atrreplay: the recording has no ticks")
	}
	for r, ts := range p.ticks {
		slices.SortStableFunc(ts, func(a, b int32) int { return cmpInt(rec.Ticks[a].At, rec.Ticks[b].At) })
		for _, t := range ts {
			if rec.Ticks[t].Ended() > 0 {
				p.ends[r] = append(p.ends[r], t)
			}
		}
	}
	return p, nil
}

func cmpInt[T ~int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// start is when tick t's demand begins: a tick before its end (a silent
// stretch closed at once is longer, but its demand is in its last tick).
func (p *plan) start(rec *Recording, t int32) int64 {
	tk := &rec.Ticks[t]
	d := int64(rec.Tick)
	if tk.Dt > 0 && int64(tk.Dt) < d {
		d = int64(tk.Dt)
	}
	return int64(tk.At) - d
}

// The replay's agenda: what happens next, in time order.
type itemKind uint8

const (
	itemEnd      itemKind = iota // a recorded end (first at a given time: evidence before decisions)
	itemExtraEnd                 // the estimated end of a call the recording did not admit
	itemReconfig                 // a configuration change (recorded settings)
	itemTick                     // a route's next recorded tick begins
	itemArrival                  // the next request of a tick
	itemPoke                     // close a tick at its end
)

type item struct {
	at    int64 // ns since the recording's start
	seq   uint64
	kind  itemKind
	route int32
	tick  int32         // index into rec.Ticks (the tick that arrives, or that a call ends in)
	pos   int32         // itemTick: position in the route's ticks; itemArrival, itemEnd: the number in the tick
	idx   int           // itemReconfig: which
	mix   [4]uint32     // itemEnd: the tick's ends so far by outcome (success, failure, ignored, slow)
	t     atrion.Ticket // itemExtraEnd
}

type agenda []item

func (q agenda) Len() int { return len(q) }
func (q agenda) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	if q[i].kind != q[j].kind {
		return q[i].kind < q[j].kind
	}
	return q[i].seq < q[j].seq
}
func (q agenda) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *agenda) Push(x any)   { *q = append(*q, x.(item)) }
func (q *agenda) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

type replayer struct {
	rec     *Recording
	p       *plan
	a       *atrion.Atrion
	clk     *atrion.ManualClock
	now     int64
	q       agenda
	seq     uint64
	res     *Result
	tickLen int64
	routes  []routeReplay
	begun   int // route ticks begun since the last Flush
}

// routeReplay is one route's replay state.
type routeReplay struct {
	// queue holds the admitted calls that stand for recorded admissions,
	// oldest first from head: the recorded ends end them
	queue []atrion.Ticket
	head  int
	// matched is how many more of the current tick's admissions stand
	// for recorded ones
	matched uint64
	// owed are the current tick's recorded ends that found no call: the
	// call they ended was admitted later in the tick than the even spread
	// put it, so the tick's next matched admissions pay them
	owed   []owedEnd
	extras uint64 // extra calls ended so far, which picks each one's outcome
	// the latency baseline, read at most once a tick
	baseRead bool
	baseAt   int64
	base     time.Duration
}

// owedEnd is a recorded end waiting for its call, until the tick's end.
type owedEnd struct {
	class atrion.Class
	lat   time.Duration
	until int64
}

func (rp *replayer) push(it item) {
	rp.seq++
	it.seq = rp.seq
	heap.Push(&rp.q, it)
}

// advance moves the manual clock to at.
func (rp *replayer) advance(at int64) {
	if at > rp.now {
		rp.clk.Advance(time.Duration(at - rp.now))
		rp.now = at
	}
}

// flushEvery bounds the route ticks begun between two waits for the
// observer, whose queue holds 4,096 events: a route tick is one event,
// two with a transition (more only with silent stretches), and the
// observer drains the queue meanwhile; a drop fails the replay. Each wait
// can take up to a tick of wall time (the engine batches its state
// publication by the wall clock), so fewer waits make a faster replay.
const flushEvery = 1024

func (rp *replayer) run(reconf [][]atrion.Option) error {
	rec := rp.rec
	for rp.q.Len() > 0 {
		it := heap.Pop(&rp.q).(item)
		rp.advance(it.at)
		var name string
		if it.kind != itemReconfig {
			name = rec.Routes[it.route]
		}
		switch it.kind {
		case itemReconfig:
			if err := rp.a.Update(reconf[it.idx]...); err != nil {
				return fmt.Errorf("atrreplay: configuration change at %v: %w", rec.Reconfigs[it.idx].At, err)
			}
		case itemTick:
			if err := rp.beginTick(it); err != nil {
				return err
			}
		case itemArrival:
			rp.arrive(it, name)
		case itemEnd:
			rp.end(it, name)
		case itemExtraEnd:
			rp.endExtra(it, name)
		case itemPoke:
			rp.a.Snapshot(name)
		}
	}
	// close the last recorded ticks: whatever came after them then closed them
	rp.advance(rp.p.last)
	rp.a.Snapshots()
	return nil
}

// beginTick starts a route's recorded tick: its demand, its ends and a
// poke at its end; and schedules the route's next tick.
func (rp *replayer) beginTick(it item) error {
	ts := rp.p.ticks[it.route]
	t := ts[it.pos]
	tk := &rp.rec.Ticks[t]
	demand, ended := rp.clamp(t, tk.Demand()), rp.clamp(t, tk.Ended())
	rt := &rp.routes[it.route]
	rp.res.Skipped += uint64(len(rt.owed))
	rt.owed = rt.owed[:0]
	rt.matched = min(uint64(tk.Admitted), demand)
	if demand > 0 {
		rp.res.Offered += demand
		rp.push(item{at: it.at, kind: itemArrival, route: it.route, tick: t})
	}
	if ended > 0 {
		rp.push(item{at: rp.spread(t, 0, ended, true), kind: itemEnd, route: it.route, tick: t})
	}
	if !rp.closedWithGap(ts, it.pos) {
		rp.push(item{at: int64(tk.At), kind: itemPoke, route: it.route})
	}
	if int(it.pos)+1 < len(ts) {
		next := it.pos + 1
		rp.push(item{at: max(rp.p.start(rp.rec, ts[next]), it.at), kind: itemTick, route: it.route, pos: next})
	}
	if rp.begun++; rp.begun >= flushEvery {
		rp.begun = 0
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return rp.a.Flush(ctx)
	}
	return nil
}

// closedWithGap reports whether the route's tick at pos is followed at
// once by a silent stretch (a tick longer than the engine's): the engine
// closes a stretch in the same step as the tick before it, so that tick
// was not closed at its end, and a poke there would split the stretch.
func (rp *replayer) closedWithGap(ts []int32, pos int32) bool {
	if int(pos)+1 >= len(ts) {
		return false
	}
	tk, next := &rp.rec.Ticks[ts[pos]], &rp.rec.Ticks[ts[pos+1]]
	return int64(next.Dt) > rp.tickLen && next.At-next.Dt == tk.At
}

// clamp bounds a count of tick t to tickCap, counting the rest.
func (rp *replayer) clamp(t int32, n uint64) uint64 {
	if c := rp.p.tickCap(rp.rec, t); n > c {
		rp.res.Clamped += n - c
		return c
	}
	return n
}

// tickCap is the most requests (or ends) tick t replays: MaxRate over the
// span its demand is spread on (start), at most MaxTickDemand.
func (p *plan) tickCap(rec *Recording, t int32) uint64 {
	span := int64(rec.Ticks[t].At) - p.start(rec, t)
	return uint64(min(MaxTickDemand, max(1, MaxRate*span/int64(time.Second))))
}

// spread is the time of the i-th of n events spread evenly over tick t:
// arrivals from its start, ends (mid) half a step later.
func (rp *replayer) spread(t int32, i, n uint64, mid bool) int64 {
	s := rp.p.start(rp.rec, t)
	span := int64(rp.rec.Ticks[t].At) - s
	if mid {
		return s + int64((2*i+1))*span/int64(2*n)
	}
	return s + int64(i)*span/int64(n)
}

// arrive offers request it.pos of a tick, and schedules the next.
func (rp *replayer) arrive(it item, name string) {
	tk := &rp.rec.Ticks[it.tick]
	rt := &rp.routes[it.route]
	t, d := rp.a.Admit(name, atrion.PriorityNormal)
	switch {
	case !d.Allowed:
	case rt.matched > 0 && len(rt.owed) > 0 && rt.owed[0].until > rp.now:
		rt.matched--
		o := rt.owed[0]
		rt.owed = rt.owed[1:]
		rp.done(&t, o.class, o.lat, it.route, name)
	case rt.matched > 0:
		rt.matched--
		rt.queue = append(rt.queue, t)
	default:
		rp.res.Extra++
		rp.scheduleExtra(it.route, t)
	}
	if n, all := uint64(it.pos)+1, min(tk.Demand(), rp.p.tickCap(rp.rec, it.tick)); n < all {
		rp.push(item{at: rp.spread(it.tick, n, all, false), kind: itemArrival, route: it.route, tick: it.tick, pos: int32(n)})
	}
}

// end is the it.pos-th recorded end of a tick: it ends the route's oldest
// queued call with the next outcome of the tick's counts and the tick's
// mean latency, and schedules the tick's next end.
func (rp *replayer) end(it item, name string) {
	tk := &rp.rec.Ticks[it.tick]
	n := min(tk.Ended(), rp.p.tickCap(rp.rec, it.tick))
	counts := [4]uint32{tk.Succeeded, tk.Failed, tk.Ignored, tk.Slow}
	// the outcome furthest behind its share of the ends so far: the
	// tick's counts exactly, evenly interleaved
	c, best := 0, math.Inf(-1)
	for k, cnt := range counts {
		if d := float64(cnt)*float64(it.pos+1)/float64(n) - float64(it.mix[k]); cnt > it.mix[k] && d > best {
			c, best = k, d
		}
	}
	it.mix[c]++
	rt := &rp.routes[it.route]
	if rt.head < len(rt.queue) {
		t := rt.queue[rt.head]
		rt.queue[rt.head] = atrion.Ticket{}
		rt.head++
		if rt.head > 1024 && 2*rt.head > len(rt.queue) {
			rt.queue = append(rt.queue[:0], rt.queue[rt.head:]...)
			rt.head = 0
		}
		rp.done(&t, classes[c], tk.Latency, it.route, name)
	} else {
		rt.owed = append(rt.owed, owedEnd{class: classes[c], lat: tk.Latency, until: int64(tk.At)})
	}
	if next := uint64(it.pos) + 1; next < n {
		rp.push(item{at: rp.spread(it.tick, next, n, true), kind: itemEnd, route: it.route, tick: it.tick, pos: int32(next), mix: it.mix})
	}
}

// classes are the outcome classes in the order of a tick's counts.
var classes = [4]atrion.Class{atrion.Success, atrion.Failure, atrion.Ignored, atrion.Canceled}

// done ends t with class c and latency lat. A slow call waited past the
// baseline (else it was ignored): it keeps that, whatever the tick's mean.
func (rp *replayer) done(t *atrion.Ticket, c atrion.Class, lat time.Duration, route int32, name string) {
	if c == atrion.Canceled {
		lat = max(lat, rp.baseline(route, name)+time.Microsecond)
	}
	t.DoneLatency(c, lat)
}

// maxWalk bounds the ticks looked at to place one call's end.
const maxWalk = 100_000

// scheduleExtra places the end of an extra call admitted now: the first
// tick ending after now in which calls ended and whose mean latency L has
// it end before the tick does, at now + L or the tick's start, whichever
// is later. A call no recorded tick can end stays in flight.
func (rp *replayer) scheduleExtra(route int32, t atrion.Ticket) {
	ends := rp.p.ends[route]
	ticks := rp.rec.Ticks
	k := sort.Search(len(ends), func(i int) bool { return int64(ticks[ends[i]].At) > rp.now })
	for n := 0; k < len(ends) && n < maxWalk; k, n = k+1, n+1 {
		tk := &ticks[ends[k]]
		if at := rp.now + int64(tk.Latency); at < int64(tk.At) {
			rp.push(item{at: max(at, rp.p.start(rp.rec, ends[k])), kind: itemExtraEnd, route: route, tick: ends[k], t: t})
			return
		}
	}
	rp.res.InFlight++
}

// golden is the golden ratio's fraction: the n-th call of a route picks
// its outcome at frac(n·golden), an evenly spread sequence, so that any
// run of calls ends in about the mix of the ticks they end in.
const golden = 0.6180339887498949

// endExtra ends an extra call in the recorded tick it.tick, with an
// outcome in that tick's mix: the n-th extra call of a route picks at
// frac(n·golden) of the tick's ends.
func (rp *replayer) endExtra(it item, name string) {
	tk := &rp.rec.Ticks[it.tick]
	rt := &rp.routes[it.route]
	u := math.Mod(float64(rt.extras)*golden, 1) * float64(tk.Ended())
	rt.extras++
	c := 3
	for k, cum := range [...]uint64{uint64(tk.Succeeded), uint64(tk.Succeeded) + uint64(tk.Failed), uint64(tk.Succeeded) + uint64(tk.Failed) + uint64(tk.Ignored)} {
		if u < float64(cum) {
			c = k
			break
		}
	}
	rp.done(&it.t, classes[c], tk.Latency, it.route, name)
}

// baseline is a route's latency baseline now, read at most once a tick.
func (rp *replayer) baseline(route int32, name string) time.Duration {
	rt := &rp.routes[route]
	if !rt.baseRead || rp.now-rt.baseAt >= rp.tickLen {
		if s, ok := rp.a.Snapshot(name); ok {
			rt.base = s.LatencyBaseline
		}
		rt.baseRead, rt.baseAt = true, rp.now
	}
	return rt.base
}

// collector keeps a replayed engine's events as ticks and transitions.
type collector struct {
	mu     sync.Mutex
	start  time.Time
	index  map[string]int32
	routes []string
	ticks  []Tick
	trans  []Transition
}

func newCollector(rec *Recording) *collector {
	c := &collector{start: rec.Start, index: make(map[string]int32, len(rec.Routes)), routes: slices.Clone(rec.Routes)}
	for i, r := range rec.Routes {
		c.index[r] = int32(i)
	}
	return c
}

// OnUpdate keeps e.
func (c *collector) OnUpdate(e atrion.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[e.Route]
	if !ok {
		i = int32(len(c.routes))
		c.index[e.Route] = i
		c.routes = append(c.routes, e.Route)
	}
	at := e.Time.Sub(c.start)
	switch e.Kind {
	case atrion.EventTick:
		tk := tickOf(&e, at)
		tk.Route = i
		c.ticks = append(c.ticks, tk)
	case atrion.EventTransition:
		c.trans = append(c.trans, Transition{At: at, Route: i, From: e.From, To: e.To})
	}
}

func (c *collector) into(r *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Routes, r.Ticks, r.Transitions = c.routes, c.ticks, c.trans
}
