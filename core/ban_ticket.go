package atrion

import (
	"time"
)

// Keyed admission: AdmitKey, and the KeyTicket that judges a request's
// client key on its outcome (the bans themselves are in ban_list.go).

// KeyTicket is the Ticket of a request that carries a client key: Done
// records the outcome on the route as Ticket.Done does and judges the key
// on it too (a Failure counts against the key; so does a request Blame
// marked). Like a Ticket it settles once and is not safe for concurrent
// use; the zero KeyTicket is valid and does nothing.
type KeyTicket struct {
	Ticket
	key  string
	cell *keyCell // the key's share it is counted in flight on; nil: none
	// judged: Done judges the key (its engine's bans, route.env.bans)
	judged, blame bool
}

// AdmitKey is Admit for a request that carries a client key: a banned key
// is rejected at once (Reason ReasonBanned, RetryAfter the ban's time
// left), before the route counts it. While the route's limit binds, the
// keys share it by weighted max-min fairness (WithKeyWeight): a key over
// its share is refused (ReasonKeyShare, RetryAfter the route's hint), a
// key within it is served ahead of the route's shedding; an empty or
// invalid key (ValidClientKey) counts in one share of its own, "unjudged".
// Otherwise the route decides as Admit does, and the key is judged on its
// calls' outcomes (KeyTicket.Done): its failures, never its volume.
func (a *Atrion) AdmitKey(routeID, key string, p Priority) (t KeyTicket, d Decision) {
	r := a.lookup(routeID)
	a.admitKey(r, key, p, &t, &d)
	return t, d
}

// AdmitKey is a.AdmitKey(h.ID(), key, p) without the route lookup.
func (h *Handle) AdmitKey(key string, p Priority) (t KeyTicket, d Decision) {
	r := h.r.Load()
	if r == nil || r.detached.Load() {
		r = h.a.lookup(h.id)
		h.r.Store(r)
	}
	h.a.admitKey(r, key, p, &t, &d)
	return t, d
}

func (a *Atrion) admitKey(r *route, key string, p Priority, t *KeyTicket, d *Decision) {
	b := a.bans
	if banned, left := b.banned(key); banned {
		b.stats.rejected.Add(1)
		d.Reason, d.Mode, d.RetryAfter = ReasonBanned, Mode(r.mode.Load()), left
		return
	}
	var c *keyCell
	within := false
	if ks := r.keys.Load(); ks != nil && ks.on.Load() { // one load while the route's keys share nothing
		var refused bool
		if c, refused = ks.admit(key, p.index()); refused {
			d.Reason, d.Mode, d.RetryAfter = ReasonKeyShare, Mode(r.mode.Load()), time.Duration(r.retry.Load())
			return
		}
		within = c.within.Load()
	}
	a.admit(r, p, within, &t.Ticket, d)
	if d.Allowed && c != nil {
		c.inflight.Add(1)
		t.cell = c
	}
	if key == "" {
		return
	}
	if d.Reason == ReasonShed && r.keys.Load() == nil {
		// the route's limit binds on keyed traffic: its keys get shares
		// from the next tick close on (allocated once per route)
		r.keys.CompareAndSwap(nil, newKeyShares())
	}
	if b.cfg.disabled {
		return
	}
	// the key's bytes are checked once, when its evidence is first kept
	if d.Allowed {
		t.key, t.judged = key, true
	} else if d.Reason == ReasonShed {
		b.ev.record(b, r, key, outcomeShed)
	}
}

// Blame marks the request as its client's fault (a malformed or
// unauthorised request, a 4xx other than 404): Done counts it against the
// key whatever the route's class says, so that a client error, Ignored by
// the route, is still the key's evidence.
func (t *KeyTicket) Blame() { t.blame = true }

// Done records the request's outcome on its route (Ticket.Done) and on its
// key. Only the first call counts.
func (t *KeyTicket) Done(c Class) {
	t.Ticket.Done(c)
	t.judge(c)
}

// leave takes the request out of its key's share, once.
func (t *KeyTicket) leave() {
	if c := t.cell; c != nil {
		t.cell = nil
		c.inflight.Add(-1)
	}
}

// DoneLatency is Ticket.DoneLatency, judging the key as Done does.
func (t *KeyTicket) DoneLatency(c Class, latency time.Duration) {
	t.Ticket.DoneLatency(c, latency)
	t.judge(c)
}

func (t *KeyTicket) judge(c Class) {
	t.leave()
	if !t.judged {
		return
	}
	t.judged = false
	o := outcomeCall
	if c == Failure || t.blame {
		o = outcomeFail
	}
	b := t.r.env.bans
	b.ev.record(b, t.r, t.key, o)
}

// Key returns the ticket's client key ("" for none, or with bans
// disabled).
func (t *KeyTicket) Key() string { return t.key }
