package windtunnel

// This file is the simulation's agenda: the events to come, in order of
// time, ties in order of scheduling.

// event is one scheduled event; seq breaks ties in scheduling order, so
// the run is deterministic.
type event struct {
	at   int64 // ns since the start of the run
	seq  uint64
	kind evKind
	id   int32
	gen  uint32 // the call's or user's generation, for evTimeout, evRetry, evCancel
}

func (a event) before(b event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// agenda holds the events to come. Most live in a heap; two kinds that
// arrive in order are kept apart, which keeps the heap small: timeouts a
// fixed delay after they were set (one FIFO lane per delay) and periodic
// events (probes, CPU samples), produced one at a time. Every event gets
// the sequence number it would have had in one heap, so the order is the
// same as one heap's.
type agenda struct {
	seq   uint64
	heap  eventQueue
	lanes []lane
	ticks []periodic
}

// lane is a FIFO of events set a fixed delay ahead: in order of time.
type lane struct {
	delay int64
	ev    []event
	head  int
}

// periodic is an event every step until end, with sequence numbers
// reserved when it was set up.
type periodic struct {
	kind evKind
	step int64
	k, n uint64 // next occurrence (1-based) and how many
	seq0 uint64 // sequence number of occurrence 0
}

func (p *periodic) next() (event, bool) {
	if p.k > p.n {
		return event{}, false
	}
	return event{at: int64(p.k) * p.step, seq: p.seq0 + p.k, kind: p.kind}, true
}

// push schedules e.
func (q *agenda) push(e event) {
	q.seq++
	e.seq = q.seq
	q.heap.push(e)
}

// pushAfter schedules e, which is delay after now, as every event in its
// lane is: after them.
func (q *agenda) pushAfter(delay int64, e event) {
	q.seq++
	e.seq = q.seq
	for i := range q.lanes {
		if l := &q.lanes[i]; l.delay == delay {
			if l.head > 1024 && 2*l.head > len(l.ev) {
				l.ev = append(l.ev[:0], l.ev[l.head:]...)
				l.head = 0
			}
			l.ev = append(l.ev, e)
			return
		}
	}
	q.lanes = append(q.lanes, lane{delay: delay, ev: []event{e}})
}

// every schedules kind at step, 2·step, … up to end.
func (q *agenda) every(kind evKind, step, end int64) {
	n := uint64(end / step)
	q.ticks = append(q.ticks, periodic{kind: kind, step: step, k: 1, n: n, seq0: q.seq})
	q.seq += n
}

// pop removes and returns the next event; false when there is none.
func (q *agenda) pop() (event, bool) {
	var e event
	src, have := -1, false // src: −1 heap, 0… lanes, then ticks
	if len(q.heap) > 0 {
		e, have = q.heap[0], true
	}
	for i := range q.lanes {
		if l := &q.lanes[i]; l.head < len(l.ev) && (!have || l.ev[l.head].before(e)) {
			e, src, have = l.ev[l.head], i, true
		}
	}
	for i := range q.ticks {
		if t, ok := q.ticks[i].next(); ok && (!have || t.before(e)) {
			e, src, have = t, len(q.lanes)+i, true
		}
	}
	switch {
	case !have:
	case src < 0:
		q.heap.pop()
	case src < len(q.lanes):
		q.lanes[src].head++
	default:
		q.ticks[src-len(q.lanes)].k++
	}
	return e, have
}

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
