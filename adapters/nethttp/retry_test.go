package atrhttp_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrhttp "github.com/atrion-go/atrion/adapters/nethttp"
)

// pushingBack answers its first n calls with a marked 503 (hint 1 ms),
// then 200, and records the attempt counts it saw.
type pushingBack struct {
	n        atomic.Int64
	mu       sync.Mutex
	attempts []string
	url      string
}

func newPushingBack(t *testing.T, n int64) *pushingBack {
	p := &pushingBack{}
	p.n.Store(n)
	p.url = adaptertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.attempts = append(p.attempts, r.Header.Get(atrhttp.PreviousAttemptsHeader))
		p.mu.Unlock()
		if p.n.Add(-1) >= 0 {
			w.Header().Set(atrhttp.RejectHeader, "shed")
			w.Header().Set(atrhttp.RetryAfterMsHeader, "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	return p
}

func do(c *http.Client, method, url string) (int, error) {
	req, _ := http.NewRequest(method, url, nil)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// An idempotent call pushed back is retried, carrying the attempt count;
// a POST is not; a PUT with a body is only when GetBody is set.
func TestTransportRetries(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	p := newPushingBack(t, 2)
	c := client(t, a, atrhttp.WithRetries(3), atrhttp.WithoutThrottling())
	if code, err := do(c, http.MethodGet, p.url); err != nil || code != http.StatusOK {
		t.Fatalf("GET after two pushbacks: %d, %v", code, err)
	}
	if got := strings.Join(p.attempts, ","); got != ",1,2" {
		t.Fatalf("attempt counts %q, want \",1,2\"", got)
	}
	p.n.Store(1)
	if code, _ := do(c, http.MethodPost, p.url); code != http.StatusServiceUnavailable {
		t.Fatalf("POST retried: %d", code)
	}
	put := func(getBody bool) int {
		p.n.Store(1)
		req, _ := http.NewRequest(http.MethodPut, p.url, strings.NewReader("payload"))
		if !getBody {
			req.GetBody = nil
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := put(true); code != http.StatusOK {
		t.Fatalf("PUT with GetBody: %d, want a retry's 200", code)
	}
	if code := put(false); code != http.StatusServiceUnavailable {
		t.Fatalf("PUT without GetBody: %d, want no retry", code)
	}
}

// The budget holds retries to 20 % of calls plus the floor; a local
// rejection is never retried; a deadline shorter than the hint is not
// waited for.
func TestTransportRetryBudget(t *testing.T) {
	a, _ := adaptertest.Engine(t) // manual clock: the whole run is one window
	p := newPushingBack(t, 1<<40)
	c := client(t, a, atrhttp.WithRetries(3), atrhttp.WithoutThrottling(), atrhttp.WithRetryBudget(0.2, -1))
	const calls = 200
	for range calls {
		do(c, http.MethodGet, p.url)
	}
	if sent := len(p.attempts); sent > calls+calls/5 || sent < calls+calls/5-1 {
		t.Fatalf("%d attempts for %d calls, want at most %d", sent, calls, calls+calls/5)
	}

	// with throttling on, retries never multiply the load on a server
	// that refuses everything: a retry throttled locally ends the call
	a2, _ := adaptertest.Engine(t)
	p2 := newPushingBack(t, 1<<40)
	c2 := client(t, a2, atrhttp.WithRetries(3))
	for range 100 {
		do(c2, http.MethodGet, p2.url)
	}
	if sent := len(p2.attempts); sent >= 100 {
		t.Fatalf("%d attempts reached a refusing server for 100 calls", sent)
	}

	// a hint beyond the deadline is not waited for
	slow := adaptertest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(atrhttp.RejectHeader, "circuit_open")
		w.Header().Set("Retry-After", "9")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, slow, nil)
	start := time.Now()
	res, err := c.Do(req)
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("deadline shorter than the hint: %v %v after %v", res, err, time.Since(start))
	}
	res.Body.Close()
}

// Hostile attempt counts never fail a request nor raise its priority.
func TestHostileAttemptHeader(t *testing.T) {
	a, _ := adaptertest.Engine(t)
	url := adaptertest.Serve(t, atrhttp.Middleware(a)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for _, v := range []string{"-1", "99999999999999999999", "1e9", "\xff", strings.Repeat("9", 8000), "1, 2"} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set(atrhttp.PreviousAttemptsHeader, v)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("attempt count %.12q: %d", v, res.StatusCode)
		}
	}
}
