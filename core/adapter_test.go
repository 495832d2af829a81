package atrion

import (
	"encoding/json"
	"testing"
	"time"
)

func TestClassifyHTTPStatus(t *testing.T) {
	for code, want := range map[int]Class{200: Success, 204: Success, 302: Success, 400: Ignored, 404: Ignored, 429: Ignored, 499: Ignored, 500: Failure, 503: Failure, 599: Failure, 0: Success, -1: Success} {
		if got := ClassifyHTTPStatus(code); got != want {
			t.Errorf("ClassifyHTTPStatus(%d) = %v, want %v", code, got, want)
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
	b := AppendRejectionJSON(nil, Decision{Reason: ReasonCircuitOpen, Mode: ModeCircuitOpen}, 1500*time.Millisecond)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if v["reason"] != "circuit_open" || v["mode"] != "CIRCUIT_OPEN" || v["retry_after_ms"] != 1500.0 {
		t.Fatalf("unexpected body %s", b)
	}
}
