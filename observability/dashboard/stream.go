package atrdash

import (
	"encoding/json"
	"net/http"
	"time"
)

// client is one /events stream. The sampler offers it frames without
// waiting; a client that has not taken the previous frame gets it
// replaced by the newer one.
type client struct {
	ch chan []byte
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

// register adds a client and starts the sampler if needed. It returns nil
// when the dashboard is closed or full.
func (d *Dashboard) register() (*client, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, "atrdash: dashboard closed"
	}
	if len(d.clients) >= d.cfg.maxClients {
		return nil, "atrdash: too many dashboard clients"
	}
	c := &client{ch: make(chan []byte, 1)}
	d.clients[c] = struct{}{}
	if !d.running {
		d.running = true
		go d.run()
	}
	return c, ""
}

func (d *Dashboard) unregister(c *client) {
	d.mu.Lock()
	delete(d.clients, c)
	d.mu.Unlock()
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
		d.mu.Lock()
		if len(d.clients) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.sampleLocked(time.Now())
		b := frame(d.stateLocked(false))
		for c := range d.clients {
			c.offer(b)
		}
		d.mu.Unlock()
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
	c, msg := d.register()
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
	// a stalled reader must not hold a slot for ever; the deadline is
	// lifted again for whatever the connection serves next
	defer rc.SetWriteDeadline(time.Time{})
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(d.cfg.writeTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	d.mu.Lock()
	first := frame(d.stateLocked(true))
	d.mu.Unlock()
	if write(append([]byte("retry: 2000\n"), first...)) != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case b := <-c.ch:
			if write(b) != nil {
				return
			}
		}
	}
}
