package atrion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func newTestRoutes(t *testing.T) *HTTPRoutes {
	t.Helper()
	a, err := New(WithClock(NewManualClock(time.Unix(0, 0))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return NewHTTPRoutes(a)
}

func TestHTTPRoutes(t *testing.T) {
	rs := newTestRoutes(t)
	if got := rs.Handle("GET", "").ID(); got != UnmatchedRoute {
		t.Fatalf("empty template: %q, want %q", got, UnmatchedRoute)
	}
	first := rs.Handle("GET", "/users/:id")
	if first.ID() != "GET /users/:id" {
		t.Fatalf("ID = %q", first.ID())
	}
	if again := rs.Handle("GET", "/users/:id"); again != first {
		t.Fatal("second lookup returned another handle")
	}
	if got := rs.Handle("POST", "/users/:id").ID(); got != "POST /users/:id" {
		t.Fatalf("other method: %q", got)
	}
	for range 3 { // a non-standard method, published after a few misses
		if got := rs.Handle("PROPFIND", "/dav/*").ID(); got != "PROPFIND /dav/*" {
			t.Fatalf("custom method: %q", got)
		}
	}
	if n := testing.AllocsPerRun(200, func() { _ = rs.Handle("PROPFIND", "/dav/*") }); n != 0 {
		t.Fatalf("custom-method lookup allocates %v times", n)
	}
	if n := testing.AllocsPerRun(200, func() { _ = rs.Handle("GET", "/users/:id") }); n != 0 {
		t.Fatalf("interned lookup allocates %v times", n)
	}
	tk, d := first.Admit(PriorityNormal)
	if !d.Allowed || tk.Route() != "GET /users/:id" {
		t.Fatalf("admitted %v on %q", d.Allowed, tk.Route())
	}
}

// A key built in a reused buffer must not change the interned map when the
// buffer is overwritten (fiber hands out such strings).
func TestHTTPRoutesCopiesKeys(t *testing.T) {
	rs := newTestRoutes(t)
	buf := []byte("/a")
	tmpl := unsafe.String(&buf[0], len(buf)) // aliases buf, as fiber's strings do
	_ = rs.Handle("GET", tmpl)
	buf[1] = 'b'
	if got := rs.Handle("GET", "/a").ID(); got != "GET /a" {
		t.Fatalf("after buffer reuse: %q", got)
	}
}

func TestHTTPRoutesBoundedAndConcurrent(t *testing.T) {
	rs := newTestRoutes(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range maxInternedRoutes/2 + 100 {
				tmpl := "/r/" + strconv.Itoa(i)
				if got := rs.Handle("GET", tmpl).ID(); got != "GET "+tmpl {
					t.Errorf("goroutine %d: %q", g, got)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range maxInternedRoutes + 10 {
		tmpl := "/x/" + strconv.Itoa(i)
		if got := rs.Handle("PUT", tmpl).ID(); got != "PUT "+tmpl { // past the cap: still right, just not kept
			t.Fatalf("past the cap: %q", got)
		}
	}
	rs.mu.Lock()
	n := max(rs.read.Load().n, len(rs.all))
	rs.mu.Unlock()
	if n > maxInternedRoutes {
		t.Fatalf("cache holds %d routes, cap %d", n, maxInternedRoutes)
	}
}

func TestClassifyHTTP(t *testing.T) {
	wrappedCancel := fmt.Errorf("read: %w", context.Canceled)
	for _, c := range []struct {
		code        int
		err, ctxErr error
		want        Class
	}{
		{200, nil, nil, Success},
		{404, nil, nil, Ignored},
		{500, nil, nil, Failure},
		{0, errors.New("connection refused"), nil, Failure},
		{500, nil, context.Canceled, Canceled}, // the route decides: slow sample or ignored
		{0, wrappedCancel, wrappedCancel, Canceled},
		{0, context.DeadlineExceeded, context.DeadlineExceeded, Failure}, // a slow dependency is its fault
		{200, nil, context.DeadlineExceeded, Success},
	} {
		if got := ClassifyHTTP(c.code, c.err, c.ctxErr); got != c.want {
			t.Errorf("ClassifyHTTP(%d, %v, %v) = %v, want %v", c.code, c.err, c.ctxErr, got, c.want)
		}
	}
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return "status " + strconv.Itoa(e.code) }

func TestErrorStatus(t *testing.T) {
	code := func(e *statusErr) int { return e.code }
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&statusErr{404}, 404},
		{fmt.Errorf("wrapped: %w", &statusErr{502}), 502},
		{errors.New("plain"), 500},
		{&statusErr{0}, 500},     // not a status
		{&statusErr{-3}, 500},    // garbage
		{&statusErr{70000}, 500}, // garbage
	} {
		if got := ErrorStatus(c.err, code); got != c.want {
			t.Errorf("ErrorStatus(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	e := &statusErr{418}
	if n := testing.AllocsPerRun(100, func() { _ = ErrorStatus(error(e), code) }); n != 0 {
		t.Fatalf("ErrorStatus allocates %v times", n)
	}
}

func TestHTTPRejection(t *testing.T) {
	d := Decision{Reason: ReasonShed, Mode: ModeOperational, RetryAfter: 2 * time.Second}
	for range 50 {
		ra, body := HTTPRejection(d)
		if ra != "2" && ra != "3" { // [2s, 3s) rounded up
			t.Fatalf("Retry-After %q for a 2s hint", ra)
		}
		var v struct {
			Error, Reason, Mode string
			RetryAfterMs        int64 `json:"retry_after_ms"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if v.Error != "overloaded" || v.Reason != "shed" || v.Mode != "OPERATIONAL" || v.RetryAfterMs < 2000 || v.RetryAfterMs > 3000 {
			t.Fatalf("body %s", body)
		}
	}
}

func TestHeaderPriority(t *testing.T) {
	for in, want := range map[string]Priority{
		"critical": PriorityCritical, " HIGH ": PriorityHigh, "Low": PriorityLow, "bulk": PriorityBulk,
		"-2": PriorityCritical, "2": PriorityBulk, "0": PriorityNormal,
		"": PriorityNormal, "urgent": PriorityNormal, "3": PriorityNormal, "-3": PriorityNormal,
		"1e9": PriorityNormal, "NaN": PriorityNormal, strings.Repeat("9", 1000): PriorityNormal,
		"critical\x00": PriorityNormal, "\xff\xfe": PriorityNormal,
	} {
		if got := HeaderPriority(in); got != want {
			t.Errorf("HeaderPriority(%q) = %v, want %v", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = HeaderPriority("High") }); n != 0 {
		t.Fatalf("HeaderPriority allocates %v times", n)
	}
}

func FuzzHeaderPriority(f *testing.F) {
	for _, s := range []string{"critical", "HIGH", "-2", "2", "", "  low ", "\x00", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := HeaderPriority(s)
		if p < PriorityCritical || p > PriorityBulk {
			t.Fatalf("HeaderPriority(%q) = %d, out of range", s, p)
		}
	})
}
