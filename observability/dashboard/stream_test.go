package atrdash

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// stream is one open /events connection.
type stream struct {
	res    *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

func openStream(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		cancel()
		t.Fatalf("GET /events: %d", res.StatusCode)
	}
	s := &stream{res: res, r: bufio.NewReader(res.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next reads the next SSE message and decodes its data as a State.
func (s *stream) next(t *testing.T) State {
	t.Helper()
	var data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
		if line == "" && data != "" {
			break
		}
	}
	var st State
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return st
}

func TestEventsStream(t *testing.T) {
	rec := NewRecorder(0)
	a, clk := newEngine(t, atrion.WithObserver(rec))
	traffic(a, clk, "GET /a", 5, atrion.Success)
	traffic(a, clk, "GET /b", 5, atrion.Success)
	srv := serve(t, New(a, WithInterval(50*time.Millisecond), WithRecorder(rec)))

	s := openStream(t, srv.URL)
	if ct := s.res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	first := s.next(t)
	if len(first.Routes) != 2 || len(first.Routes[0].History) == 0 || first.IntervalMs != 50 {
		t.Fatalf("first frame = %+v, want both routes with history", first)
	}
	second := s.next(t)
	if len(second.Routes) != 2 || second.Routes[0].History != nil {
		t.Errorf("later frame = %+v, want routes without history", second)
	}

	atriontest.Trip(t, a, clk, "GET /b")
	// the frame follows within a few frames (the Recorder wakes the stream)
	for i := 0; ; i++ {
		st := s.next(t)
		if st.Routes[1].Mode == "CIRCUIT_OPEN" && len(st.Transitions) > 0 && st.Transitions[0].To == "CIRCUIT_OPEN" {
			break
		}
		if i == 40 {
			t.Fatalf("no CIRCUIT_OPEN frame after %d frames: %+v", i, st.Routes[1])
		}
	}
}

func TestEventsHead(t *testing.T) {
	a, _ := newEngine(t)
	srv := serve(t, New(a))
	res, err := http.Head(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD /events: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// A client from another address over the bound gets 503 (a client from
// the same address takes the place of its oldest stream instead: see
// TestStreamsPerClient).
func TestTooManyClients(t *testing.T) {
	a, _ := newEngine(t)
	srv := serve(t, New(a, WithMaxClients(1), WithInterval(50*time.Millisecond)))
	s := openStream(t, srv.URL)
	s.next(t) // registered
	res, err := dialFrom("127.0.0.2").Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "too many") {
		t.Errorf("second client: %d %q %s, want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	// the slot frees when the first client leaves
	s.close()
	waitFor(t, "slot freed", func() bool {
		res, err := http.Get(srv.URL + "/events")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

func TestCloseEndsStreams(t *testing.T) {
	a, _ := newEngine(t)
	d := New(a, WithInterval(50*time.Millisecond))
	srv := serve(t, d)
	s := openStream(t, srv.URL)
	s.next(t)
	d.Close()
	d.Close() // idempotent
	if _, err := io.Copy(io.Discard, s.r); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
	res, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %d, want 503", res.StatusCode)
	}
	if res, err := http.Get(srv.URL + "/api/state"); err != nil || res.StatusCode != 200 {
		t.Errorf("state after Close: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /a", 5, atrion.Success)
	d := New(a, WithInterval(50*time.Millisecond))
	srv := serve(t, d)
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	for range 3 {
		var ss []*stream
		for range 4 {
			s := openStream(t, srv.URL)
			s.next(t)
			ss = append(ss, s)
		}
		for _, s := range ss {
			s.close()
		}
	}
	waitFor(t, "streams and sampler gone", func() bool {
		d.mu.Lock()
		idle := len(d.clients) == 0 && !d.running
		d.mu.Unlock()
		http.DefaultClient.CloseIdleConnections()
		return idle && runtime.NumGoroutine() <= before
	})
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 250 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

func TestSlowClientGetsNewestFrame(t *testing.T) {
	c := &client{ch: make(chan []byte, 1)}
	c.offer([]byte("1"))
	c.offer([]byte("2")) // never blocks; replaces the stale frame
	c.offer([]byte("3"))
	if got := string(<-c.ch); got != "3" {
		t.Errorf("slow client got %q, want the newest frame", got)
	}
}
