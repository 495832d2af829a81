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
	evSample                // 500 ms end: sample every service's CPU
	evCancel                // a user's patience runs out (id: user)
)

// svcState is a service at run time: a pool of workers and a FIFO queue
// of calls waiting for one, and the CPU its calls' own work uses.
type svcState struct {
	Service
	busy    int     // workers held by calls
	working int     // of which doing their own work (not waiting downstream)
	queue   []int32 // waiting calls, oldest first
	head    int     // queue[head:] are waiting
	rng     *rand.Rand

	// the calls at work on a service with Cores, which share them
	// (processor sharing, cpu.go)
	onCPU   []int32
	shareAt int64 // when their work was last brought up to date

	cpuAt   int64     // when cpuWork was last brought up to date
	cpuWork int64     // ∫ busy CPUs dt (ns), see cpuLoad
	cpuLast int64     // cpuWork at the last sample
	cpu     []float64 // CPU usage per 500 ms
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

// cpuLoad is how many of the service's CPUs its working calls keep busy.
func (sv *svcState) cpuLoad() int {
	if sv.Cores > 0 {
		return min(sv.working, sv.Cores)
	}
	return sv.working
}

// account brings the service's CPU integral up to now; call it before
// working changes.
func (sv *svcState) account(now int64) {
	sv.cpuWork += int64(sv.cpuLoad()) * (now - sv.cpuAt)
	sv.cpuAt = now
}

// cpuSamplePeriod is how often a node's CPU is sampled, as aegis's
// sampler does.
const cpuSamplePeriod = 500 * time.Millisecond

// sample records the CPU usage of the last period.
func (sv *svcState) sample(now int64) {
	sv.account(now)
	cpus := sv.Cores
	if cpus <= 0 {
		cpus = sv.workers(sv.Health(time.Duration(now)))
	}
	u := float64(sv.cpuWork-sv.cpuLast) / (float64(cpus) * float64(cpuSamplePeriod))
	u += sv.Health(time.Duration(now)).OtherCPU
	sv.cpuLast = sv.cpuWork
	sv.cpu = append(sv.cpu, math.Min(1, u))
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
	rng      *rand.Rand // arrivals, priorities, routes (and closed-loop thinking)
	retryRng *rand.Rand // retry jitter and patience: they must not shift the arrivals
	mixSum   float64
}

// never is the deadline of a call without a timeout.
const never = math.MaxInt64

// call is one guarded call in flight. It is freed when both its caller
// has its outcome (answered) and its service is done with it (served).
type call struct {
	gen      uint32 // bumped when the slot is freed
	workGen  uint32 // its evWork events' generation: bumped when its end moves (cpu.go)
	work     int64  // on a service with Cores: its own work left, in ns at a whole core
	route    int32
	parent   int32 // the calling call, or −1 when a user request made it
	child    int32 // the downstream call it waits for, or −1
	user     int32
	prio     atrion.Priority
	start    int64
	deadline int64 // when its caller gives up (never: no timeout)
	permit   Permit
	next     int  // next downstream call to make
	worker   bool // holds one of its service's workers
	working  bool // doing its own work
	queued   bool // waiting for a worker
	failed   bool
	answered bool
	served   bool
	doomed   bool // admitted with less time left than its service's own work takes
}

// user is one user request, across its retries and fallback.
type user struct {
	gen        uint32 // bumped when it ends
	src        int32
	route      int32 // its entry route, for every attempt
	call       int32 // its entry call in flight, or −1
	prio       atrion.Priority
	start      int64
	retries    int
	onFallback bool
	gone       bool // cancelled: its patience ran out
}

// callRejected is the outcome of a call the guard rejected; it never
// reaches a Permit.
const callRejected Outcome = 255

type world struct {
	guard  Guard
	clk    *atrion.ManualClock
	wall   bool // the guard reads the wall clock: keep the bubble's in step
	settle bool // the guard works in the background: let it finish after each call
	now    int64
	slept  int64 // how far the bubble's clock has been moved (wall guards)
	end    int64
	q      agenda
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
	svcIdx   map[string]int
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
// Contestants that read the wall clock (and, in a scenario with shared
// state, those that sync it in the background) must run in a synctest
// bubble (see Run); Simulate returns an error otherwise.
func Simulate(sc Scenario, c Contestant, seed uint64) (*Result, error) {
	w, err := simulate(sc, c, seed)
	if err != nil {
		return nil, err
	}
	w.guard.Close()
	return w.res, nil
}

// simulate runs sc against c and scores it, leaving the guard open.
func simulate(sc Scenario, c Contestant, seed uint64) (*world, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if c.needsBubble(sc) && !inBubble() {
		return nil, fmt.Errorf("windtunnel: %s reads the wall clock (or syncs state on timers) here: run it in a synctest bubble (windtunnel.Run or windtunnel.Main)", c.Name)
	}
	w := newWorld(sc, atrion.NewManualClock(epoch), c.needsBubble(sc), seed)
	w.settle = sc.SharedState && c.SyncsState
	g, err := c.New(w.env(sc))
	if err != nil {
		return nil, fmt.Errorf("windtunnel: %s: %w", c.Name, err)
	}
	w.guard = g
	w.res.Contestant = c.Name
	w.run()
	w.before()
	w.res.Transitions = g.Transitions()
	w.res.score(&sc)
	return w, nil
}

// needsBubble reports whether c's run of sc must happen in a synctest
// bubble.
func (c Contestant) needsBubble(sc Scenario) bool {
	return c.WallClock || (sc.SharedState && c.SyncsState)
}

// env is what the run offers its guard.
func (w *world) env(sc Scenario) Env {
	e := Env{Clock: w.clk, SharedState: sc.SharedState}
	seen := map[string]bool{}
	for _, s := range sc.Services {
		for _, r := range w.routes {
			if r.Node == s.Name && !seen[s.Name] {
				seen[s.Name] = true
				e.Nodes = append(e.Nodes, s.Name)
			}
		}
	}
	e.Route = func(id string) RouteInfo {
		if i, ok := w.routeIdx[id]; ok {
			return RouteInfo{Node: w.routes[i].Node, Key: w.routes[i].Key, Client: w.routes[i].Client}
		}
		return RouteInfo{Node: id, Key: id}
	}
	e.CPU = func(node string) []float64 {
		if i, ok := w.svcIdx[node]; ok {
			return w.svcs[i].cpu
		}
		return nil
	}
	return e
}

func newWorld(sc Scenario, clk *atrion.ManualClock, wall bool, seed uint64) *world {
	w := &world{clk: clk, wall: wall, end: int64(sc.Duration), routeIdx: map[string]int{}, svcIdx: map[string]int{}}
	samples := int(sc.Duration/cpuSamplePeriod) + 1
	for i, s := range sc.Services {
		w.svcIdx[s.Name] = i
		w.svcs = append(w.svcs, svcState{Service: s, rng: stream(seed, "service:"+s.Name), cpu: make([]float64, 0, samples)})
	}
	routeIdx := w.routeIdx
	for i, r := range sc.Routes {
		routeIdx[r.ID] = i
	}
	for _, r := range sc.Routes {
		if r.Node == "" {
			r.Node = r.Service
		}
		if r.Key == "" {
			r.Key = r.ID
		}
		rs := routeState{Route: r, svc: w.svcIdx[r.Service]}
		for _, c := range r.Calls {
			rs.calls = append(rs.calls, routeIdx[c])
		}
		w.routes = append(w.routes, rs)
	}
	classIdx := map[string]int{}
	var classes []string
	var legit []bool
	for i, t := range sc.Traffic {
		s := srcState{Traffic: t, fallback: -1, rng: stream(seed, fmt.Sprintf("traffic:%d:%s", i, t.Class)),
			retryRng: stream(seed, fmt.Sprintf("retries:%d:%s", i, t.Class))}
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
	w.q.push(event{at: at, kind: k, id: id, gen: gen})
}

// advance moves simulated time to t.
func (w *world) advance(t int64) {
	if t <= w.now {
		return
	}
	w.clk.Advance(time.Duration(t - w.now))
	w.now = t
}

// before prepares a call into the guard. For a guard that reads the wall
// clock it moves the bubble's clock to the simulated time: sleeping only
// then, rather than at every event, gives the guard the same readings at
// a fraction of the cost, as nothing else in the bubble reads the time in
// between. For a guard that works in the background it then waits until
// that work (woken by the new time) is done, so that its order is the
// same every run.
func (w *world) before() {
	if !w.wall {
		return
	}
	if w.slept < w.now {
		time.Sleep(time.Duration(w.now - w.slept))
		w.slept = w.now
	}
	if w.settle {
		synctest.Wait()
	}
}

// after ends a call into the guard: background work it started finishes
// before the simulation goes on.
func (w *world) after() {
	if w.settle {
		synctest.Wait()
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
	w.q.every(evProbe, bin, w.end)
	w.q.every(evSample, int64(cpuSamplePeriod), w.end)
	for {
		e, ok := w.q.pop()
		if !ok || e.at > w.end {
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
			if w.users[e.id].gen == e.gen {
				w.attempt(e.id)
			}
		case evCancel:
			if u := &w.users[e.id]; u.gen == e.gen {
				w.cancelUser(e.id)
			}
		case evWork:
			if w.calls[e.id].workGen == e.gen {
				w.workDone(e.id)
			}
		case evTimeout:
			if c := &w.calls[e.id]; c.gen == e.gen && !c.answered {
				w.answer(e.id, Timeout)
			}
		case evProbe:
			if b := int(w.now/bin) - 1; b >= 0 && b < len(w.res.Probes) {
				w.before()
				w.res.Probes[b] = w.guard.Probe(w.routes[w.watch].ID)
				w.probeBans(b)
				w.after()
			}
		case evSample:
			for i := range w.svcs {
				w.svcs[i].sample(w.now)
			}
		}
	}
}

// probeBans records, at the end of bin b, which client keys a guard that
// bans keys holds banned (see KeyBans), for every route whose calls carry
// a client key.
func (w *world) probeBans(b int) {
	kb, ok := w.guard.(KeyBans)
	if !ok {
		return
	}
	for i := range w.routes {
		if rt := &w.routes[i]; rt.Client != "" && kb.Banned(rt.ID) {
			w.res.banned(i, b)
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
	r := s.routes[0]
	if len(s.routes) > 1 {
		r = s.routes[s.rng.IntN(len(s.routes))]
	}
	u := user{src: src, route: int32(r), call: -1, prio: p, start: w.now}
	var id int32
	if n := len(w.freeU); n > 0 {
		id = w.freeU[n-1]
		w.freeU = w.freeU[:n-1]
		u.gen = w.users[id].gen
		w.users[id] = u
	} else {
		id = int32(len(w.users))
		w.users = append(w.users, u)
	}
	w.res.offered(s.class, w.bin())
	if s.Patience > 0 {
		w.scheduleGen(w.now+max(1, int64(s.retryRng.ExpFloat64()*float64(s.Patience))), evCancel, id, u.gen)
	}
	w.attempt(id)
}

func (w *world) bin() int { return int(w.now / int64(w.res.Bin)) }

// attempt makes a user request's next attempt on its entry route (or on
// its fallback).
func (w *world) attempt(uid int32) {
	u := &w.users[uid]
	r := int(u.route)
	if u.onFallback {
		r = w.srcs[u.src].fallback
	}
	w.invoke(r, -1, uid, u.prio)
}

// cancelUser: a user's patience ran out; it abandons its request.
func (w *world) cancelUser(uid int32) {
	u := &w.users[uid]
	u.gone = true
	if u.call >= 0 {
		w.answer(u.call, Canceled) // reaches attemptDone, which ends it
		return
	}
	w.finishUser(uid, false) // between attempts: no retry
}

// invoke makes one guarded call on route r.
func (w *world) invoke(r int, parent, uid int32, p atrion.Priority) {
	rt := &w.routes[r]
	b := w.bin()
	entry := rt.entry && parent < 0
	w.res.attempt(r, p, entry, b)
	deadline := int64(never)
	if rt.Timeout > 0 {
		deadline = w.now + int64(rt.Timeout)
	}
	if parent >= 0 && w.svcs[w.routes[w.calls[parent].route].svc].DeadlineAware {
		deadline = min(deadline, w.calls[parent].deadline) // the caller's deadline travels with the call
	}
	// doomed: its caller gives up before the service's own work, at its
	// median now, could be done even without a queue
	doomed := deadline != never && deadline-w.now < int64(w.serviceTime(rt))
	w.before()
	var permit Permit
	var ok bool
	if dg, by := w.guard.(DeadlineAdmitter); by && deadline != never {
		permit, ok = dg.AdmitWithin(rt.ID, p, time.Duration(deadline-w.now))
	} else {
		permit, ok = w.guard.Admit(rt.ID, p)
	}
	w.after()
	if !ok {
		w.res.reject(r, p, entry, b)
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
	if parent >= 0 {
		w.calls[parent].child = id
	} else {
		w.users[uid].call = id
	}
	gen := w.calls[id].gen
	w.calls[id] = call{gen: gen, workGen: w.calls[id].workGen, route: int32(r), parent: parent, child: -1, user: uid, prio: p, start: w.now, deadline: deadline, permit: permit, doomed: doomed}
	// A call answered before its deadline needs no timeout event; when
	// that is known now (it fails fast, or works without downstream
	// calls), none is scheduled. Same-time ties go to the answer either
	// way, so this changes nothing but the cost.
	if answerAt := w.arrive(id); deadline != never && answerAt > deadline {
		ev := event{at: deadline, kind: evTimeout, id: id, gen: gen}
		if deadline == w.now+int64(rt.Timeout) {
			w.q.pushAfter(int64(rt.Timeout), ev) // in order, like every such timeout
		} else {
			w.q.push(ev)
		}
	}
}

// arrive hands call id to its service: a worker if one is free, else the
// queue; a service that is down, or whose queue is full, fails it fast.
// It returns when the call will be answered, if known now, else never.
func (w *world) arrive(id int32) int64 {
	c := &w.calls[id]
	rt := &w.routes[c.route]
	sv := &w.svcs[rt.svc]
	h := sv.Health(time.Duration(w.now))
	switch {
	case h.Down || (sv.Queue > 0 && sv.waiting() >= sv.Queue) || (h.DownShare > 0 && sv.rng.Float64() < h.DownShare):
		c.failed = true
		w.scheduleGen(w.now+int64(FailFast), evWork, id, c.workGen)
		return w.now + int64(FailFast)
	case sv.busy < sv.workers(h) && sv.waiting() == 0:
		end := w.startWork(id, h)
		if len(rt.calls) == 0 {
			return end
		}
	default:
		c.queued = true
		sv.queue = append(sv.queue, id)
	}
	return never
}

// serviceTime is route rt's own work at its service's median latency now.
func (w *world) serviceTime(rt *routeState) time.Duration {
	l := float64(w.svcs[rt.svc].Health(time.Duration(w.now)).Latency)
	if rt.Cost > 0 {
		l *= rt.Cost
	}
	return time.Duration(l)
}

// startWork gives call id a worker and schedules the end of its own work,
// which it returns: never on a service with Cores, where the end moves as
// other calls start and end (cpu.go).
func (w *world) startWork(id int32, h Health) int64 {
	c := &w.calls[id]
	rt := &w.routes[c.route]
	sv := &w.svcs[rt.svc]
	if b := w.bin(); c.doomed && b < len(w.res.DoomedBins) {
		w.res.DoomedBins[b]++
	}
	sv.busy++
	sv.account(w.now)
	sv.working++
	c.worker, c.working = true, true
	lat, fail := w.draw(sv, rt, h)
	c.failed = fail
	if sv.Cores > 0 {
		c.work = lat
		w.shareCPU(sv, id, true)
		return never
	}
	w.scheduleGen(w.now+lat, evWork, id, c.workGen)
	return w.now + lat
}

// release frees call id's worker and starts the calls waiting for one; a
// deadline-aware service drops those whose caller has gone.
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
		nc := &w.calls[next]
		nc.queued = false
		if nc.answered && sv.DeadlineAware {
			nc.served = true
			w.free(next)
			continue
		}
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

// workDone: call id's own work (or its fast failure) is over; on success
// it makes its downstream calls in sequence, unless it runs on a
// deadline-aware service and its caller has gone.
func (w *world) workDone(id int32) {
	c := &w.calls[id]
	sv := &w.svcs[w.routes[c.route].svc]
	if c.working {
		sv.account(w.now)
		if sv.Cores > 0 {
			w.shareCPU(sv, id, false)
		}
		sv.working--
		c.working = false
	}
	if c.failed || (c.answered && sv.DeadlineAware) {
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
	w.settleCall(id, o)
	c := &w.calls[id]
	parent, uid := c.parent, c.user
	if c.served {
		w.free(id)
	}
	w.deliver(parent, uid, o)
}

// settleCall records call id's outcome with its guard and the result;
// when its caller has gone, a deadline-aware service also stops working
// for it.
func (w *world) settleCall(id int32, o Outcome) {
	c := &w.calls[id]
	c.answered = true
	w.before()
	c.permit.Done(o)
	w.after()
	rt := &w.routes[c.route]
	w.res.outcome(int(c.route), c.prio, rt.entry && c.parent < 0, o, time.Duration(w.now-c.start), w.bin())
	if o == Timeout || o == Canceled {
		w.abandon(id)
	}
}

// abandon: call id's caller has gone. A deadline-aware service cancels
// the downstream call it waits for and frees its worker; a queued call
// is dropped when a worker would take it (release), and one at work stops
// when its own work ends (workDone). Any other service carries on.
func (w *world) abandon(id int32) {
	c := &w.calls[id]
	if !w.svcs[w.routes[c.route].svc].DeadlineAware || c.child < 0 {
		return
	}
	ch := c.child
	c.child = -1
	if !w.calls[ch].answered {
		w.settleCall(ch, Canceled)
		if w.calls[ch].served {
			w.free(ch)
		}
	}
	w.release(id)
	w.calls[id].served = true
}

func (w *world) free(id int32) {
	// stale timeouts and work ends no longer match
	w.calls[id] = call{gen: w.calls[id].gen + 1, workGen: w.calls[id].workGen + 1}
	w.freeC = append(w.freeC, id)
}

// deliver hands a call's outcome to whoever made it: its parent call, or
// its user.
func (w *world) deliver(parent, uid int32, o Outcome) {
	if parent >= 0 {
		w.calls[parent].child = -1
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
	u.call = -1
	s := &w.srcs[u.src]
	switch {
	case o == Success:
		w.finishUser(uid, true)
		return
	case u.gone:
		w.finishUser(uid, false)
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
		w.scheduleGen(w.now+int64(s.Retry.delay(u.retries, s.retryRng.Float64())), evRetry, uid, u.gen)
		return
	}
	w.finishUser(uid, false)
}

func (w *world) finishUser(uid int32, ok bool) {
	u := &w.users[uid]
	s := &w.srcs[u.src]
	w.res.finished(s.class, ok, time.Duration(w.now-u.start), w.bin())
	u.gen++ // its pending retry or cancellation no longer matches
	w.freeU = append(w.freeU, uid)
	if s.Rate == nil {
		w.schedule(w.now+int64(s.rng.ExpFloat64()*float64(s.Think)), evThink, u.src)
	}
}
