package httpx

import (
	"encoding/json"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func TestRejection(t *testing.T) {
	d := atrion.Decision{Reason: atrion.ReasonShed, Mode: atrion.ModeOperational, RetryAfter: 2 * time.Second}
	for range 50 {
		ra, body := Rejection(d)
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

func TestJitterRetryAfter(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 0, time.Millisecond, time.Second, time.Minute} {
		for range 100 {
			j := JitterRetryAfter(d)
			lo := max(d, time.Millisecond)
			if j < lo || j > lo+lo/2 {
				t.Fatalf("JitterRetryAfter(%v) = %v, outside [%v, %v]", d, j, lo, lo+lo/2)
			}
		}
	}
	if RetryAfterSeconds(0) != "1" || RetryAfterSeconds(1500*time.Millisecond) != "2" || RetryAfterSeconds(3*time.Second) != "3" {
		t.Fatal("RetryAfterSeconds must round up to whole seconds, at least 1")
	}
}

func TestRejectionJSON(t *testing.T) {
	b := AppendRejectionJSON(nil, atrion.Decision{Reason: atrion.ReasonCircuitOpen, Mode: atrion.ModeCircuitOpen}, 1500*time.Millisecond)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if v["error"] != "circuit_open" || v["reason"] != "circuit_open" || v["mode"] != "CIRCUIT_OPEN" || v["retry_after_ms"] != 1500.0 {
		t.Fatalf("unexpected body %s", b)
	}
}

// TestRejectionErrorNamesTheReason: every reason has its error, and only
// the busy ones (the limit, the voltage) are "overloaded".
func TestRejectionErrorNamesTheReason(t *testing.T) {
	want := map[atrion.Reason]string{
		atrion.ReasonCircuitOpen: "circuit_open", atrion.ReasonShed: "overloaded", atrion.ReasonRecovering: "recovering",
		atrion.ReasonVoltage: "overloaded", atrion.ReasonBanned: "banned", atrion.ReasonKeyShare: "key_share",
	}
	for why, w := range want {
		var v struct{ Error, Reason string }
		if err := json.Unmarshal(AppendRejectionJSON(nil, atrion.Decision{Reason: why}, time.Second), &v); err != nil {
			t.Fatal(err)
		}
		if v.Error != w || v.Reason != why.String() {
			t.Fatalf("%v: error %q reason %q, want error %q", why, v.Error, v.Reason, w)
		}
	}
}

// TestRejectStatus: the client's doing (a banned key, a key over its
// share) is 429, the service's state 503; an unknown reason is the
// service's.
func TestRejectStatus(t *testing.T) {
	for why, want := range map[atrion.Reason]int{
		atrion.ReasonBanned: 429, atrion.ReasonKeyShare: 429, atrion.ReasonShed: 503, atrion.ReasonCircuitOpen: 503,
		atrion.ReasonRecovering: 503, atrion.ReasonVoltage: 503, atrion.Reason(200): 503,
	} {
		if got := RejectStatus(why); got != want {
			t.Errorf("RejectStatus(%v) = %d, want %d", why, got, want)
		}
	}
}
