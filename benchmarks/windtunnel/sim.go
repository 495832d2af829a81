package windtunnel

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing/synctest"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// This file is the discrete-event engine: one run of a scenario against
// one guard.

// epoch is where every run's manual clock starts.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type evKind uint8

const (
	evArrive  evKind = iota // an open-loop source's next request (id: source)
	evThink                 // a closed-loop client's next request (id: source)
	evRetry                 // a user request's next attempt (id: user)
	evWork                  // a call's own work is done (id: call)
	evTimeout               // a call's caller gives up (id: call)
	evProbe                 // a bin ends: probe the watched route
)

// event is one scheduled event; seq breaks ties in scheduling order, so
// the run is deterministic.
type event struct {
	at   int64 // ns since the start of the run
	seq  uint64
	kind evKind
	id   int32
	gen  uint32 // the call's generation, for evTimeout
}

func (a event) before(b event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// eventQueue is a binary min-heap of events.
type eventQueue []event

func (q *eventQueue) push(e event) {
	h := append(*q, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].before(h[m]) {
			m = l
		}
		if r < n && h[r].before(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// svcState is a service at run time: a pool of workers and a FIFO queue
// of calls waiting for one.
type svcState struct {
	Service
	busy  int     // workers held by calls
	queue []int32 // waiting calls, oldest first
	head  int     // queue[head:] are waiting
	rng   *rand.Rand
}

func (sv *svcState) waiting() int { return len(sv.queue) - sv.head }

// workers is how many calls the service serves at once at t.
func (sv *svcState) workers(h Health) int {
	c := sv.Capacity
	if h.CapacityFactor > 0 {
		c *= h.CapacityFactor
	}
	return max(1, int(c+0.5))
}

type routeState struct {
	Route
	svc   int
	calls []int
	entry bool
}

type srcState struct {
	Traffic
	routes   []int
	fallback int // −1: none
	class    int
	rng      *rand.Rand
	mixSum   float64
}

// call is one guarded call in flight. It is freed when both its caller
// has its outcome (answered) and its service is done with it (served).
type call struct {
	gen      uint32 // bumped when the slot is freed
	route    int32
	parent   int32 // the calling call, or −1 when a user request made it
	user     int32
	prio     atrion.Priority
	start    int64
	permit   Permit
	next     int  // next downstream call to make
	worker   bool // holds one of its service's workers
	failed   bool
	answered bool
	served   bool
}

// user is one user request, across its retries and fallback.
type user struct {
	src        int32
	prio       atrion.Priority
	start      int64
	retries    int
	onFallback bool
}

// callRejected is the outcome of a call the guard rejected; it never
// reaches a Permit.
const callRejected Outcome = 255

type world struct {
	guard  Guard
	clk    *atrion.ManualClock
	wall   bool
	now    int64
	slept  int64 // how far the bubble's clock has been moved (wall guards)
	end    int64
	seq    uint64
	q      eventQueue
	svcs   []svcState
	routes []routeState
	srcs   []srcState
	calls  []call
	freeC  []int32
	users  []user
	freeU  []int32
	watch  int
	res    *Result

	routeIdx map[string]int
}

// utilization is the share of busy workers of the service behind route.
func (w *world) utilization(route string) float64 {
	i, ok := w.routeIdx[route]
	if !ok {
		return 0
	}
	sv := &w.svcs[w.routes[i].svc]
	return math.Min(1, float64(sv.busy)/float64(sv.workers(sv.Health(time.Duration(w.now)))))
}

// stream derives an independent PCG stream per named part of a run, so
// that, for example, arrivals do not depend on how a guard decided.
func stream(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// inBubble reports whether the caller runs in a synctest bubble.
func inBubble() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	synctest.Wait()
	return true
}

// Simulate runs scenario sc against contestant c with the given seed.
// Contestants that read the wall clock must run in a synctest bubble
// (see Run); Simulate returns an error otherwise.
func Simulate(sc Scenario, c Contestant, seed uint64) (*Result, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if c.WallClock && !inBubble() {
		return nil, fmt.Errorf("windtunnel: %s reads the wall clock: run it in a synctest bubble (windtunnel.Run or windtunnel.Main)", c.Name)
	}
	w := newWorld(sc, atrion.NewManualClock(epoch), c.WallClock, seed)
	g, err := c.New(Env{Clock: w.clk, Utilization: w.utilization})
	if err != nil {
		return nil, fmt.Errorf("windtunnel: %s: %w", c.Name, err)
	}
	w.guard = g
	w.res.Contestant = c.Name
	w.run()
	w.catchUp()
	w.res.Transitions = g.Transitions()
	g.Close()
	w.res.score(&sc)
	return w.res, nil
}

func newWorld(sc Scenario, clk *atrion.ManualClock, wall bool, seed uint64) *world {
	w := &world{clk: clk, wall: wall, end: int64(sc.Duration), routeIdx: map[string]int{}}
	svcIdx := make(map[string]int, len(sc.Services))
	for i, s := range sc.Services {
		svcIdx[s.Name] = i
		w.svcs = append(w.svcs, svcState{Service: s, rng: stream(seed, "service:"+s.Name)})
	}
	routeIdx := w.routeIdx
	for i, r := range sc.Routes {
		routeIdx[r.ID] = i
	}
	for _, r := range sc.Routes {
		rs := routeState{Route: r, svc: svcIdx[r.Service]}
		for _, c := range r.Calls {
			rs.calls = append(rs.calls, routeIdx[c])
		}
		w.routes = append(w.routes, rs)
	}
	classIdx := map[string]int{}
	var classes []string
	var legit []bool
	for i, t := range sc.Traffic {
		s := srcState{Traffic: t, fallback: -1, rng: stream(seed, fmt.Sprintf("traffic:%d:%s", i, t.Class))}
		for _, id := range t.Routes {
			s.routes = append(s.routes, routeIdx[id])
			w.routes[routeIdx[id]].entry = true
		}
		if t.Fallback != "" {
			s.fallback = routeIdx[t.Fallback]
			w.routes[s.fallback].entry = true
		}
		ci, ok := classIdx[t.Class]
		if !ok {
			ci = len(classes)
			classIdx[t.Class] = ci
			classes = append(classes, t.Class)
			legit = append(legit, t.Legit)
		}
		s.class = ci
		for _, m := range t.Mix {
			s.mixSum += m.Weight
		}
		w.srcs = append(w.srcs, s)
	}
	w.watch = routeIdx[sc.Watch]
	w.res = newResult(sc, seed, classes, legit)
	return w
}

func (w *world) schedule(at int64, k evKind, id int32) { w.scheduleGen(at, k, id, 0) }

func (w *world) scheduleGen(at int64, k evKind, id int32, gen uint32) {
	w.seq++
	w.q.push(event{at: at, seq: w.seq, kind: k, id: id, gen: gen})
}

// advance moves simulated time to t: the manual clock, and the wall clock
// of the bubble for guards that read it.
func (w *world) advance(t int64) {
	if t <= w.now {
		return
	}
	w.clk.Advance(time.Duration(t - w.now))
	w.now = t
}

// catchUp moves the bubble's clock to the simulated time before a guard
// that reads the wall clock is called. Sleeping only then, rather than
// at every event, gives the guard the same readings at a fraction of the
// cost: nothing else in the bubble reads the time in between.
func (w *world) catchUp() {
	if w.wall && w.slept < w.now {
		time.Sleep(time.Duration(w.now - w.slept))
		w.slept = w.now
	}
}

func (w *world) run() {
	for i := range w.srcs {
		s := &w.srcs[i]
		if s.Rate != nil {
			w.schedule(w.nextArrival(s, 0), evArrive, int32(i))
			continue
		}
		for range s.Clients {
			w.schedule(int64(s.rng.Float64()*float64(s.Think)), evThink, int32(i))
		}
	}
	bin := int64(w.res.Bin)
	for t := bin; t <= w.end; t += bin {
		w.schedule(t, evProbe, 0)
	}
	for len(w.q) > 0 {
		e := w.q.pop()
		if e.at > w.end {
			break
		}
		w.advance(e.at)
		switch e.kind {
		case evArrive:
			s := &w.srcs[e.id]
			if s.Rate(time.Duration(w.now)) > 0 { // else it was only a look
				w.startUser(e.id)
			}
			w.schedule(w.nextArrival(s, w.now), evArrive, e.id)
		case evThink:
			w.startUser(e.id)
		case evRetry:
			w.attempt(e.id)
		case evWork:
			w.workDone(e.id)
		case evTimeout:
			if c := &w.calls[e.id]; c.gen == e.gen && !c.answered {
				w.answer(e.id, Timeout)
			}
		case evProbe:
			if b := int(w.now/bin) - 1; b >= 0 && b < len(w.res.Probes) {
				w.catchUp()
				w.res.Probes[b] = w.guard.Probe(w.routes[w.watch].ID)
			}
		}
	}
}

// nextArrival draws the next Poisson arrival after now; a source at rate 0
// looks again a bin later.
func (w *world) nextArrival(s *srcState, now int64) int64 {
	r := s.Rate(time.Duration(now))
	if r <= 0 {
		return now + int64(w.res.Bin)
	}
	return now + max(1, int64(s.rng.ExpFloat64()/r*1e9))
}

func (w *world) startUser(src int32) {
	s := &w.srcs[src]
	p := atrion.PriorityNormal
	if s.mixSum > 0 {
		x := s.rng.Float64() * s.mixSum
		for _, m := range s.Mix {
			p = m.Priority
			if x < m.Weight {
				break
			}
			x -= m.Weight
		}
	}
	u := user{src: src, prio: p, start: w.now}
	var id int32
	if n := len(w.freeU); n > 0 {
		id = w.freeU[n-1]
		w.freeU = w.freeU[:n-1]
		w.users[id] = u
	} else {
		id = int32(len(w.users))
		w.users = append(w.users, u)
	}
	w.res.offered(s.class, w.bin())
	w.attempt(id)
}

func (w *world) bin() int { return int(w.now / int64(w.res.Bin)) }

// attempt makes a user request's next attempt on its entry route (or on
// its fallback).
func (w *world) attempt(uid int32) {
	u := &w.users[uid]
	s := &w.srcs[u.src]
	r := s.routes[0]
	if len(s.routes) > 1 {
		r = s.routes[s.rng.IntN(len(s.routes))]
	}
	if u.onFallback {
		r = s.fallback
	}
	w.invoke(r, -1, uid, u.prio)
}

// invoke makes one guarded call on route r.
func (w *world) invoke(r int, parent, uid int32, p atrion.Priority) {
	rt := &w.routes[r]
	b := w.bin()
	w.res.attempt(r, p, rt.entry && parent < 0, b)
	w.catchUp()
	permit, ok := w.guard.Admit(rt.ID, p)
	if !ok {
		w.res.reject(r, p, rt.entry && parent < 0, b)
		w.deliver(parent, uid, callRejected)
		return
	}
	var id int32
	if n := len(w.freeC); n > 0 {
		id = w.freeC[n-1]
		w.freeC = w.freeC[:n-1]
	} else {
		id = int32(len(w.calls))
		w.calls = append(w.calls, call{})
	}
	gen := w.calls[id].gen
	w.calls[id] = call{gen: gen, route: int32(r), parent: parent, user: uid, prio: p, start: w.now, permit: permit}
	w.arrive(id)
	if rt.Timeout > 0 {
		w.scheduleGen(w.now+int64(rt.Timeout), evTimeout, id, gen)
	}
}

// arrive hands call id to its service: a worker if one is free, else the
// queue; a service that is down, or whose queue is full, fails it fast.
func (w *world) arrive(id int32) {
	c := &w.calls[id]
	rt := &w.routes[c.route]
	sv := &w.svcs[rt.svc]
	h := sv.Health(time.Duration(w.now))
	switch {
	case h.Down || (sv.Queue > 0 && sv.waiting() >= sv.Queue):
		c.failed = true
		w.schedule(w.now+int64(FailFast), evWork, id)
	case sv.busy < sv.workers(h) && sv.waiting() == 0:
		w.startWork(id, h)
	default:
		sv.queue = append(sv.queue, id)
	}
}

// startWork gives call id a worker and schedules the end of its own work.
func (w *world) startWork(id int32, h Health) {
	c := &w.calls[id]
	rt := &w.routes[c.route]
	sv := &w.svcs[rt.svc]
	sv.busy++
	c.worker = true
	lat, fail := w.draw(sv, rt, h)
	c.failed = fail
	w.schedule(w.now+lat, evWork, id)
}

// release frees call id's worker and starts the calls waiting for one.
func (w *world) release(id int32) {
	c := &w.calls[id]
	if !c.worker {
		return
	}
	c.worker = false
	sv := &w.svcs[w.routes[c.route].svc]
	sv.busy--
	h := sv.Health(time.Duration(w.now))
	for sv.waiting() > 0 && sv.busy < sv.workers(h) {
		next := sv.queue[sv.head]
		sv.head++
		w.startWork(next, h)
	}
	if sv.head > 1024 && 2*sv.head > len(sv.queue) {
		sv.queue = append(sv.queue[:0], sv.queue[sv.head:]...)
		sv.head = 0
	}
}

// draw decides a call's own work: how long it takes and whether it fails.
func (w *world) draw(sv *svcState, rt *routeState, h Health) (int64, bool) {
	rng := sv.rng
	l := float64(h.Latency)
	if h.SpikeRate > 0 && rng.Float64() < h.SpikeRate {
		l = float64(h.SpikeMin) + rng.Float64()*float64(h.SpikeMax-h.SpikeMin)
	} else if h.Jitter > 0 {
		l *= math.Exp(h.Jitter * rng.NormFloat64())
	}
	if rt.Cost > 0 {
		l *= rt.Cost
	}
	fail := rng.Float64() < h.ErrorRate+rt.ErrorRate
	return max(1, int64(l)), fail
}

// workDone: the service finished its own work on call id; on success it
// makes its downstream calls in sequence.
func (w *world) workDone(id int32) {
	c := &w.calls[id]
	if c.failed {
		w.serve(id, Failure)
		return
	}
	w.nextCall(id)
}

func (w *world) nextCall(id int32) {
	c := &w.calls[id]
	rt := &w.routes[c.route]
	if c.next >= len(rt.calls) {
		w.serve(id, Success)
		return
	}
	c.next++
	w.invoke(rt.calls[c.next-1], id, c.user, c.prio)
}

// serve: the service is done with call id and answers o.
func (w *world) serve(id int32, o Outcome) {
	w.release(id)
	c := &w.calls[id]
	c.served = true
	if !c.answered {
		w.answer(id, o)
		return
	}
	w.free(id)
}

// answer gives call id's caller its outcome.
func (w *world) answer(id int32, o Outcome) {
	c := &w.calls[id]
	c.answered = true
	w.catchUp()
	c.permit.Done(o)
	rt := &w.routes[c.route]
	w.res.outcome(int(c.route), c.prio, rt.entry && c.parent < 0, o, time.Duration(w.now-c.start), w.bin())
	parent, uid := c.parent, c.user
	if c.served {
		w.free(id)
	}
	w.deliver(parent, uid, o)
}

func (w *world) free(id int32) {
	w.calls[id] = call{gen: w.calls[id].gen + 1} // stale timeouts no longer match
	w.freeC = append(w.freeC, id)
}

// deliver hands a call's outcome to whoever made it: its parent call, or
// its user.
func (w *world) deliver(parent, uid int32, o Outcome) {
	if parent >= 0 {
		if o == Success {
			w.nextCall(parent)
		} else {
			w.serve(parent, Failure)
		}
		return
	}
	w.attemptDone(uid, o)
}

// attemptDone decides what a user does after an attempt: done, fall back,
// retry or give up.
func (w *world) attemptDone(uid int32, o Outcome) {
	u := &w.users[uid]
	s := &w.srcs[u.src]
	if o == Success {
		w.finishUser(uid, true)
		return
	}
	if s.fallback >= 0 && !u.onFallback {
		u.onFallback = true
		w.attempt(uid)
		return
	}
	retry := o != callRejected || s.Retry.OnReject
	if retry && u.retries < s.Retry.Max {
		u.retries++
		u.onFallback = false
		w.schedule(w.now+int64(s.Retry.delay(u.retries, s.rng.Float64())), evRetry, uid)
		return
	}
	w.finishUser(uid, false)
}

func (w *world) finishUser(uid int32, ok bool) {
	u := w.users[uid]
	s := &w.srcs[u.src]
	w.res.finished(s.class, ok, time.Duration(w.now-u.start), w.bin())
	w.freeU = append(w.freeU, uid)
	if s.Rate == nil {
		w.schedule(w.now+int64(s.rng.ExpFloat64()*float64(s.Think)), evThink, u.src)
	}
}
