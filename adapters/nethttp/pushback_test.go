package atrhttp_test

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// refusing is an upstream that answers every call 503, marked as an
// Atrion server's rejection (with a hostile marker value when asked) or
// not.
func refusing(t *testing.T, marker string, hits *atomic.Int64) string {
	return adaptertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if marker != "" {
			w.Header().Set(atrhttp.RejectHeader, marker)
			w.Header().Set(atrhttp.RetryAfterMsHeader, "250")
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
}

// A server's marked rejection is pushback: never a failure of the route,
// whatever the marker says, and the transport throttles itself so that
// most calls never leave; a throttled call's error is recognisable.
func TestTransportPushbackThrottles(t *testing.T) {
	for _, marker := range []string{"shed", "circuit_open", " ;; \tgarbage=\xff", strings.Repeat("x", 4096)} {
		a, clk := adaptertest.Engine(t)
		var hits atomic.Int64
		url := refusing(t, marker, &hits)
		c := client(t, a)
		throttled := 0
		const calls = 400
		for i := range calls {
			code, err := call(c, url+"/x", nil)
			switch {
			case errors.Is(err, atrhttp.ErrThrottled):
				if !errors.Is(err, atrhttp.ErrRejected) {
					t.Fatal("a throttled call is a local rejection too")
				}
				var te *atrhttp.ThrottledError
				if !errors.As(err, &te) || te.Share <= 0 || te.Share > 1 || !strings.Contains(err.Error(), "throttled") {
					t.Fatalf("throttled error %v", err)
				}
				throttled++
			case err != nil:
				t.Fatalf("call %d: %v", i, err)
			case code != http.StatusServiceUnavailable:
				t.Fatalf("call %d: status %d", i, code)
			}
			if i%20 == 19 {
				clk.Advance(100 * time.Millisecond) // 4 s in all: the window moves
			}
		}
		route := "POST " + strings.TrimPrefix(url, "http://")
		s := adaptertest.Snapshot(t, a, route)
		if s.Totals.Failures != 0 || s.Mode != atrion.ModeOperational {
			t.Fatalf("marker %.10q: pushback counted against the route: %+v, %v", marker, s.Totals, s.Mode)
		}
		// refused throughout: only about one call in req/(req+1) is sent
		if sent := hits.Load(); sent > calls/10 || int(sent)+throttled != calls {
			t.Fatalf("marker %.10q: %d sent, %d throttled of %d", marker, sent, throttled, calls)
		}
	}
}

// A plain 503 without the marker is a failure by default (as before), and
// pushback with WithUnmarkedPushback; WithoutThrottling never throttles.
func TestTransportUnmarked503(t *testing.T) {
	run := func(opts ...atrhttp.Option) (atrion.Totals, int64, int) {
		a, clk := adaptertest.Engine(t)
		var hits atomic.Int64
		url := refusing(t, "", &hits)
		c := client(t, a, append(opts, atrhttp.WithPriority(func(*http.Request) atrion.Priority { return atrion.PriorityCritical }))...)
		throttled := 0
		for i := range 60 {
			if _, err := call(c, url, nil); errors.Is(err, atrhttp.ErrThrottled) {
				throttled++
			} else if err != nil && !errors.Is(err, atrhttp.ErrRejected) {
				t.Fatal(err)
			}
			if i%10 == 9 {
				clk.Advance(100 * time.Millisecond)
			}
		}
		return adaptertest.Snapshot(t, a, "POST "+strings.TrimPrefix(url, "http://")).Totals, hits.Load(), throttled
	}
	if tt, _, th := run(); tt.Failures == 0 || th != 0 {
		t.Fatalf("default: a plain 503 must stay a failure and not throttle: %+v, %d throttled", tt, th)
	}
	if tt, _, th := run(atrhttp.WithUnmarkedPushback()); tt.Failures != 0 || tt.Ignored == 0 || th == 0 {
		t.Fatalf("WithUnmarkedPushback: %+v, %d throttled", tt, th)
	}
	if tt, hits, th := run(atrhttp.WithUnmarkedPushback(), atrhttp.WithoutThrottling()); tt.Failures != 0 || th != 0 || hits != 60 {
		t.Fatalf("WithoutThrottling: %+v, %d sent, %d throttled", tt, hits, th)
	}
}

// Once the server accepts again, the throttle lets calls through within
// its 2 s window.
func TestTransportThrottleRecovers(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	var refuse atomic.Bool
	refuse.Store(true)
	url := adaptertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if refuse.Load() {
			w.Header().Set(atrhttp.RejectHeader, "shed")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	c := client(t, a)
	for range 100 {
		call(c, url, nil)
	}
	if _, err := call(c, url, nil); !errors.Is(err, atrhttp.ErrThrottled) {
		t.Fatalf("after 100 refusals: %v, want throttled", err)
	}
	refuse.Store(false)
	clk.Advance(2100 * time.Millisecond)
	for i := range 50 {
		if code, err := call(c, url, nil); err != nil || code != http.StatusOK {
			t.Fatalf("call %d once the server accepts: %d, %v", i, code, err)
		}
	}
}

// A guarded server's rejection carries the marker, the reason and the
// hint in milliseconds beside Retry-After.
func TestRejectionMarker(t *testing.T) {
	a, clk := adaptertest.Engine(t)
	var fail atomic.Bool
	fail.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	url := adaptertest.Serve(t, atrhttp.Middleware(a, atrhttp.WithPriority(func(*http.Request) atrion.Priority { return atrion.PriorityCritical }))(mux))
	atriontest.Until(t, a, clk, "GET /x", atrion.ModeCircuitOpen, 100, func() { http.Get(url + "/x") })
	res, err := http.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	ms, err := strconv.Atoi(res.Header.Get(atrhttp.RetryAfterMsHeader))
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get(atrhttp.RejectHeader) != "circuit_open" ||
		err != nil || ms <= 0 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("rejection %d %v", res.StatusCode, res.Header)
	}
}
