package atrhttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// upstream is a dependency on loopback whose status can be switched.
type upstream struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64
}

func newUpstream(t *testing.T, status int) *upstream {
	u := &upstream{}
	u.status.Store(int64(status))
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if r.URL.Path == "/block" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(int(u.status.Load()))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func client(t *testing.T, a *atrion.Atrion, opts ...atrhttp.Option) *http.Client {
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: atrhttp.Transport(a, base, opts...), Timeout: 5 * time.Second}
}

func call(c *http.Client, url string, body io.Reader) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// A failing upstream trips the route; calls then fail fast locally, never
// reaching it, until the route heals.
func TestTransportTripsAndFailsFast(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	up := newUpstream(t, http.StatusInternalServerError)
	// critical calls: graded shedding below the break point skips none of them
	c := client(t, a, atrhttp.WithPriority(func(*http.Request) atrion.Priority { return atrion.PriorityCritical }))
	route := "POST " + strings.TrimPrefix(up.srv.URL, "http://")
	atriontest.Until(t, a, clk, route, atrion.ModeCircuitOpen, 100, func() {
		if _, err := call(c, up.srv.URL+"/pay", nil); err != nil && !errors.Is(err, atrhttp.ErrRejected) {
			t.Fatalf("a call to the failing upstream: %v", err)
		}
	})
	hits := up.hits.Load()
	for range 5 {
		body := &closeRecorder{Reader: strings.NewReader("payload")}
		_, err := call(c, up.srv.URL+"/pay", body)
		var rej *atrhttp.RejectedError
		if !errors.Is(err, atrhttp.ErrRejected) || !errors.As(err, &rej) {
			t.Fatalf("call on an open route: %v, want a local rejection", err)
		}
		if rej.Route != route || rej.Decision.Reason != atrion.ReasonCircuitOpen || rej.Decision.RetryAfter <= 0 {
			t.Fatalf("rejection %+v", rej)
		}
		if !strings.Contains(err.Error(), "circuit_open") {
			t.Fatalf("error text %q", err)
		}
		if !body.closed.Load() {
			t.Fatal("a rejected call must close its request body")
		}
	}
	if up.hits.Load() != hits {
		t.Fatalf("rejected calls reached the upstream: %d → %d hits", hits, up.hits.Load())
	}

	// the dependency recovers; with time and probes the route closes
	up.status.Store(http.StatusOK)
	atriontest.Until(t, a, clk, route, atrion.ModeOperational, 600, func() { call(c, up.srv.URL+"/pay", nil) })
	if code, err := call(c, up.srv.URL+"/pay", nil); err != nil || code != http.StatusOK {
		t.Fatalf("after healing: %d, %v", code, err)
	}
}

func TestTransportOutcomes(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	up := newUpstream(t, http.StatusNotFound)
	c := client(t, a, atrhttp.WithRouteID(func(r *http.Request) string { return "payments " + r.URL.Path }))
	if code, err := call(c, up.srv.URL+"/lookup", nil); err != nil || code != http.StatusNotFound {
		t.Fatalf("%d %v", code, err)
	}

	// the caller gives up: ignored, not the dependency's fault
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for up.hits.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.srv.URL+"/block", nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}

	// a dependency that is down: failure
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := call(c, dead+"/lookup", nil); err == nil {
		t.Fatal("call to a closed port succeeded")
	}

	for route, want := range map[string]atrion.Totals{
		"payments /lookup": {Ignored: 1, Failures: 1},
		"payments /block":  {Ignored: 1},
	} {
		s, _ := a.Snapshot(route)
		if s.Totals.Ignored != want.Ignored || s.Totals.Failures != want.Failures || s.Totals.Successes != 0 {
			t.Errorf("%s: %+v, want %+v", route, s.Totals, want)
		}
	}
}

// Filtered calls pass untracked; the default route ID is "METHOD host".
func TestTransportFilterAndRouteID(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	up := newUpstream(t, http.StatusOK)
	c := client(t, a, atrhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/health" }))
	call(c, up.srv.URL+"/health", nil)
	call(c, up.srv.URL+"/x", nil)
	want := "POST " + strings.TrimPrefix(up.srv.URL, "http://")
	if got := a.Routes(); len(got) != 2 || got[0] != want {
		t.Fatalf("routes %q, want %q and the overflow route", got, want)
	}
	if s, _ := a.Snapshot(want); s.Totals.Successes != 1 {
		t.Fatalf("%+v", s.Totals)
	}
}

// The decision hook hears each call's decision, admitted or rejected, with
// the route and the caller's context.
func TestTransportDecisionHook(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	up := newUpstream(t, http.StatusInternalServerError)
	type key struct{}
	var calls []string // "reason route caller"
	hook := func(ctx context.Context, route string, d atrion.Decision) {
		calls = append(calls, d.Reason.String()+" "+route+" "+ctx.Value(key{}).(string))
	}
	c := client(t, a, atrhttp.WithDecisionHook(hook),
		atrhttp.WithPriority(func(*http.Request) atrion.Priority { return atrion.PriorityCritical }))
	route := "GET " + strings.TrimPrefix(up.srv.URL, "http://")
	get := func() error {
		ctx := context.WithValue(context.Background(), key{}, "caller")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.srv.URL, nil)
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	atriontest.Until(t, a, clk, route, atrion.ModeCircuitOpen, 100, func() { get() })
	admitted := len(calls)
	if err := get(); !errors.Is(err, atrhttp.ErrRejected) {
		t.Fatalf("call on an open route: %v", err)
	}
	if admitted == 0 || calls[0] != "admitted "+route+" caller" {
		t.Fatalf("hook calls %q; want the first to admit %q with the caller's context", calls, route)
	}
	if last := calls[len(calls)-1]; len(calls) != admitted+1 || last != "circuit_open "+route+" caller" {
		t.Fatalf("after a local rejection the hook heard %q (%d calls, %d before)", last, len(calls), admitted)
	}
}

// Transport built with a nil engine panics at once, naming itself (a nil
// base is http.DefaultTransport, as documented).
func TestTransportNilEngine(t *testing.T) {
	adaptertest.NilEngine(t, "atrhttp.Transport", func() { atrhttp.Transport(nil, nil) })
}
