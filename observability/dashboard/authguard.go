package atrdash

import (
	"net/http"
	"strconv"
	"time"
)

// The controls' guard against guessing: a token must have real entropy,
// and wrong tokens are throttled per client address.

// MinTokenDistinct is the fewest distinct bytes a token of WithControls or
// WithReadToken may have: "aaaaaaaaaaaaaaaa" or "abababababababab" are
// MinTokenLen bytes long but guessable, and leave the controls off (or
// reading open). A random hex token of 16 characters has fewer with a
// chance of about 1 in 20,000; of 20, almost never.
const MinTokenDistinct = 6

// Throttling of failed authentication: each client address may fail
// authFailBurst times at once, then once every authFailEvery; past that
// its control requests are answered 429, with Retry-After, without the
// token being looked at, so that guessing runs at one try every two
// seconds per address. The table of addresses is bounded as the other
// per-address limits are (maxBuckets).
const (
	authFailBurst = 10
	authFailEvery = 2 * time.Second
)

// strongToken reports whether tok is long enough and varied enough to
// guard a control.
func strongToken(tok string) bool {
	if len(tok) < MinTokenLen {
		return false
	}
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(tok) && distinct < MinTokenDistinct; i++ {
		if !seen[tok[i]] {
			seen[tok[i]] = true
			distinct++
		}
	}
	return distinct >= MinTokenDistinct
}

func newAuthThrottle() *rateLimiter {
	rate := float64(time.Second) / float64(authFailEvery)
	return &rateLimiter{rate: rate, burst: authFailBurst, buckets: map[string]*bucket{}}
}

// authorized checks the control token of r, or the operator role of the
// person signed in (operatorOK), unless r's address has failed too often
// lately: it answers 429 then, and 401 for neither a good token nor an
// identity (which counts against the address), and reports whether r may
// go on.
func (d *Dashboard) authorized(w http.ResponseWriter, r *http.Request) bool {
	addr, now := clientAddr(r), time.Now()
	if wait := d.authFails.wait(addr, now); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		jsonError(w, http.StatusTooManyRequests, "too many failed attempts from this address: wait")
		return false
	}
	if d.tokenOK(r.Header.Get("Authorization")) {
		return true
	}
	// a person signed in (single sign-on or a trusted proxy) is judged by
	// role (operatorOK); only a request with neither a good token nor an
	// identity is a failed attempt
	if identityOf(r) != nil {
		return d.operatorOK(w, r)
	}
	d.authFails.allow(addr, now) // a failure takes a token
	w.Header().Set("WWW-Authenticate", `Bearer realm="atrion"`)
	jsonError(w, http.StatusUnauthorized, "missing or bad token")
	return false
}

// wait returns how long until addr has a token, taking none: zero when it
// has one (or is unknown).
func (l *rateLimiter) wait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		return 0
	}
	tokens := min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / l.rate * float64(time.Second))
}
