package atrdash

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// A token of one repeated character, or of a few, guards nothing: the
// controls stay off and reading stays open, as with a short token.
func TestTokensNeedEntropy(t *testing.T) {
	a, _ := newEngine(t)
	for _, weak := range []string{"aaaaaaaaaaaaaaaa", "abababababababababab", "abcdeabcdeabcdeabcde", strings.Repeat("0", 64)} {
		d := New(a, WithControls(weak), WithReadToken(weak))
		if d.ControlsEnabled() || d.cfg.readToken != "" {
			t.Errorf("%q accepted as a token", weak)
		}
		d.Close()
	}
	for _, strong := range []string{"0123456789abcdef", "9f86d081884c7d65", testToken} {
		d := New(a, WithControls(strong), WithReadToken(strong))
		if !d.ControlsEnabled() || d.cfg.readToken != strong {
			t.Errorf("%q refused as a token", strong)
		}
		d.Close()
	}
}

// controlFrom posts an evict with auth from addr, in process.
func controlFrom(d *Dashboard, addr, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/evict", strings.NewReader(`{"route":"GET /x"}`))
	req.RemoteAddr = addr
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	return rec
}

// 2,000 wrong tokens from one address: ten are answered 401, the rest 429
// with Retry-After, the token unread (even the right one); another address
// is not affected; the address may try again after the wait.
func TestFailedAuthThrottledPerAddress(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a, WithControls(testToken))
	defer d.Close()
	codes := map[int]int{}
	for i := range 2000 {
		rec := controlFrom(d, "203.0.113.9:4000", fmt.Sprintf("Bearer guess-%016d", i))
		codes[rec.Code]++
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[401] != authFailBurst || codes[429] != 2000-authFailBurst {
		t.Fatalf("answers %v: want %d × 401 then 429", codes, authFailBurst)
	}
	if rec := controlFrom(d, "203.0.113.9:4001", "Bearer "+testToken); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("the right token from the throttled address: %d, want 429 (it is not looked at)", rec.Code)
	}
	if rec := controlFrom(d, "198.51.100.7:4000", "Bearer "+testToken); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d, want 200", rec.Code)
	}
	if w := d.authFails.wait("203.0.113.9", time.Now().Add(authFailEvery)); w != 0 {
		t.Fatalf("still throttled %v after %v", w, authFailEvery)
	}
}

// Failures from many addresses keep the table bounded.
func TestAuthThrottleMemoryBounded(t *testing.T) {
	a, _ := newEngine(t)
	d := New(a, WithControls(testToken))
	defer d.Close()
	for i := range 3 * maxBuckets {
		controlFrom(d, fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255), "Bearer wrong")
	}
	d.authFails.mu.Lock()
	n := len(d.authFails.buckets)
	d.authFails.mu.Unlock()
	if n > maxBuckets {
		t.Fatalf("%d addresses remembered, more than %d", n, maxBuckets)
	}
}
