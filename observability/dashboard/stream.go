package atrdash

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// client is one /events stream. The sampler offers it frames without
// waiting; a client that has not taken the previous frame gets it
// replaced by the newer one.
type client struct {
	ch   chan []byte
	addr string        // clientAddr of its request
	kick chan struct{} // closed when a newer stream from addr takes its place
	// sampled: the sampler was already running when it came, so the last
	// sample is at most an interval old and its first frame uses it: a
	// burst of new streams never queues behind one sample each
	sampled bool
}

func (c *client) offer(b []byte) {
	select {
	case c.ch <- b:
		return
	default:
	}
	select {
	case <-c.ch: // drop the stale frame
	default:
	}
	select {
	case c.ch <- b:
	default:
	}
}

// register adds a client from addr and starts the sampler if needed. A
// client address holding its share of streams already gives up its
// oldest: a reloaded page, or a tab that stalled, never locks its
// operator out, and one address never takes every slot. It returns nil
// when the dashboard is closed or full.
func (d *Dashboard) register(addr string) (*client, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, "atrdash: dashboard closed"
	}
	if mine := d.byAddr[addr]; len(mine) >= d.cfg.perClient {
		d.dropLocked(mine[0])
	}
	if len(d.clients) >= d.cfg.maxClients {
		return nil, "atrdash: too many dashboard clients"
	}
	c := &client{ch: make(chan []byte, 1), addr: addr, kick: make(chan struct{}), sampled: d.running}
	d.clients[c] = struct{}{}
	d.byAddr[addr] = append(d.byAddr[addr], c)
	if !d.running {
		d.running = true
		go d.run()
	}
	return c, ""
}

func (d *Dashboard) unregister(c *client) {
	d.mu.Lock()
	d.dropLocked(c)
	d.mu.Unlock()
}

// dropLocked removes c, closing its kick channel. Caller holds d.mu.
func (d *Dashboard) dropLocked(c *client) {
	if _, ok := d.clients[c]; !ok {
		return
	}
	delete(d.clients, c)
	close(c.kick)
	mine := slices.DeleteFunc(d.byAddr[c.addr], func(x *client) bool { return x == c })
	if len(mine) == 0 {
		delete(d.byAddr, c.addr)
	} else {
		d.byAddr[c.addr] = mine
	}
}

// run samples the engine every interval (and at once on a recorded
// transition) and offers the frame to every client. It returns when the
// last client has gone or the dashboard is closed.
func (d *Dashboard) run() {
	t := time.NewTicker(d.cfg.interval)
	defer t.Stop()
	for {
		var wake <-chan struct{}
		if d.cfg.recorder != nil {
			wake = d.cfg.recorder.wait()
		}
		select {
		case <-d.done:
			d.mu.Lock()
			d.running = false
			d.mu.Unlock()
			return
		case <-t.C:
		case <-wake:
		}
		d.sample(true)
		d.mu.Lock()
		if len(d.clients) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		st := d.stateLocked(false)
		// a route the last frames did not show comes with its history
		d.historyLocked(&st, func(r string) bool { return d.shown[r] })
		clear(d.shown)
		d.markShownLocked(st)
		b := frame(st)
		for c := range d.clients {
			c.offer(b)
		}
		d.mu.Unlock()
	}
}

// markShownLocked records that a stream was sent st's routes with their
// history. Caller holds d.mu.
func (d *Dashboard) markShownLocked(st State) {
	for _, r := range st.Routes {
		d.shown[r.Route] = true
	}
}

// frame encodes st as one SSE message.
func frame(st State) []byte {
	b, err := json.Marshal(st)
	if err != nil { // cannot happen: every float goes through num
		b = []byte(`{"error":"encoding"}`)
	}
	out := make([]byte, 0, len(b)+8)
	out = append(out, "data: "...)
	out = append(out, b...)
	return append(out, '\n', '\n')
}

func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, msg := d.register(clientAddr(r))
	if c == nil {
		w.Header().Set("Retry-After", "5")
		jsonError(w, http.StatusServiceUnavailable, msg)
		return
	}
	defer d.unregister(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies: do not buffer the stream
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	// a stalled reader must not hold a slot for ever. The deadline stays
	// when the stream ends (bounding the response's last write) unless the
	// dashboard closed it, when the connection may serve another request.
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(d.cfg.writeTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if !c.sampled {
		d.sample(false)
	}
	d.mu.Lock()
	st := d.stateLocked(true)
	d.markShownLocked(st)
	first := frame(st)
	d.mu.Unlock()
	if write(append([]byte("retry: 2000\n"), first...)) != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.kick: // a newer stream from this client took its place
			return
		case <-d.done:
			_ = rc.SetWriteDeadline(time.Time{})
			return
		case b := <-c.ch:
			if write(b) != nil {
				return
			}
		}
	}
}
