package atrdash

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// These tests play an unauthenticated client on the network, and an
// unlucky operator, against a dashboard of an engine with 10,000 routes.

const manyRoutes = 10000

// manyRouteEngine tracks manyRoutes healthy routes and one open circuit
// whose ID sorts last.
func manyRouteEngine(t testing.TB) *atrion.Atrion {
	t.Helper()
	a, clk := newEngine(t, atrion.WithMaxRoutes(manyRoutes+10))
	for i := range manyRoutes {
		atriontest.Send(a, fmt.Sprintf("GET /api/v1/resource%05d/:id", i), 1, atrion.Success)
	}
	clk.Advance(100 * time.Millisecond)
	atriontest.Trip(t, a, clk, "GET /zz/tripped")
	return a
}

// dialFrom returns an HTTP client whose connections come from the
// loopback address ip (any of 127.0.0.0/8): a client of its own.
func dialFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// TestManyRoutesFramesBounded: with 10,000 routes, /api/state and every
// frame of /events carry the routes of highest R (the open circuit among
// them) and a summary of the rest, not every route.
func TestManyRoutesFramesBounded(t *testing.T) {
	a := manyRouteEngine(t)
	srv := serve(t, New(a, WithInterval(100*time.Millisecond)))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
	ev, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	r := bufio.NewReaderSize(ev.Body, 1<<20)
	var frames, streamed, biggest int
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		streamed += len(line)
		if strings.HasPrefix(line, "data: ") {
			frames++
			biggest = max(biggest, len(line))
		}
	}
	rate := float64(streamed) / time.Since(start).Seconds()
	res, err := http.Get(srv.URL + "/api/state") // R history of 2 s now
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	t.Logf("/api/state: %d bytes; /events: %d frames in 2 s, %.0f bytes/s, largest frame %d bytes", len(body), frames, rate, biggest)
	if len(body) > 256<<10 || biggest > 256<<10 {
		t.Errorf("/api/state is %d bytes and the largest frame %d: want at most 256 KiB with %d routes", len(body), biggest, manyRoutes)
	}
	if rate > 1<<20 {
		t.Errorf("one client receives %.0f bytes/s, want at most 1 MiB/s", rate)
	}
	if !strings.Contains(string(body), "GET /zz/tripped") {
		t.Error("the open circuit is not among the routes shown")
	}
}

// TestStalledClientsDoNotLockOut: 32 sockets that ask for /events and
// never read hold no operator out: the operator, from another address,
// gets a frame at once.
func TestStalledClientsDoNotLockOut(t *testing.T) {
	a := manyRouteEngine(t)
	srv := serve(t, New(a, WithInterval(100*time.Millisecond)))
	addr := srv.Listener.Addr().String()
	for range DefaultMaxClients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).SetReadBuffer(4096)
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	time.Sleep(200 * time.Millisecond) // the stalled streams are registered
	operator := dialFrom("127.0.0.2")
	start := time.Now()
	var status int
	for time.Since(start) < 20*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
		res, err := operator.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		status = res.StatusCode
		if status == http.StatusOK {
			_, err = bufio.NewReader(res.Body).ReadString('\n') // the first frame's first line
			res.Body.Close()
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		res.Body.Close()
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	waited := time.Since(start)
	t.Logf("with %d stalled sockets the operator waited %v for a stream (last status %d)", DefaultMaxClients, waited.Round(time.Millisecond), status)
	if status != http.StatusOK || waited > 2*time.Second {
		t.Errorf("operator locked out for %v (status %d)", waited, status)
	}
}

// BenchmarkStateRequest measures one /api/state request over loopback
// with 10,000 routes, each with a full R history: its time and its size.
// The per-client rate limit is raised so that every request is served.
func BenchmarkStateRequest(b *testing.B) {
	a := manyRouteEngine(b)
	d := New(a, WithClientLimits(0, 1000))
	for i := range DefaultHistory { // a minute of history for every route
		d.mu.Lock()
		d.sampleLocked(time.Now().Add(time.Duration(i-DefaultHistory) * DefaultInterval))
		d.mu.Unlock()
	}
	srv := serveB(b, d)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Get(srv + "/api/state")
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		n = int(m)
	}
	b.ReportMetric(float64(n), "bytes/response")
}
