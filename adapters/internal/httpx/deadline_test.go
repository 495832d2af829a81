package httpx

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func TestParseTimeout(t *testing.T) {
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"100m", 100 * time.Millisecond, true},
		{"5S", 5 * time.Second, true},
		{"1H", time.Hour, true},
		{"2M", 2 * time.Minute, true},
		{"250u", 250 * time.Microsecond, true},
		{"99999999n", 99999999, true},
		{"250ms", 250 * time.Millisecond, true},
		{"1.5s", 1500 * time.Millisecond, true},
		// clamped
		{"99999999H", MaxTimeout, true},
		{"2h", MaxTimeout, true},
		{"2562047h", MaxTimeout, true},
		{"9223372036854775807ns", MaxTimeout, true},
		// no timeout: never a refusal
		{"", 0, false}, {"0", 0, false}, {"0m", 0, false}, {"-5s", 0, false}, {"-1m", 0, false},
		{"garbage", 0, false}, {"100", 0, false}, {"100x", 0, false}, {"123456789m", 0, false},
		{"99999999999999999999s", 0, false}, {"1e3ms", 0, false},
		{"NaNs", 0, false}, {"+Infs", 0, false}, {"m", 0, false}, {" 100m", 0, false},
		{"１００m", 0, false}, {"\x00\xff", 0, false}, {strconv.Itoa(math.MaxInt) + "m", 0, false},
		{"1" + string(make([]byte, 100)), 0, false},
	} {
		got, ok := ParseTimeout(c.v)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestDeadlineTakesTheSooner(t *testing.T) {
	if _, ok := Deadline(context.Background(), ""); ok {
		t.Fatal("a deadline from nothing")
	}
	if _, ok := Deadline(nil, "garbage"); ok {
		t.Fatal("a deadline from a bad header")
	}
	if left, ok := Deadline(nil, "50m"); !ok || left != 50*time.Millisecond {
		t.Fatalf("header alone: %v, %v", left, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if left, ok := Deadline(ctx, "50m"); !ok || left != 50*time.Millisecond {
		t.Fatalf("header sooner: %v, %v", left, ok)
	}
	if left, ok := Deadline(ctx, "-3s"); !ok || left < 59*time.Minute {
		t.Fatalf("a bad header leaves the context's: %v, %v", left, ok)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if left, ok := Deadline(short, "1S"); !ok || left > 20*time.Millisecond {
		t.Fatalf("context sooner: %v, %v", left, ok)
	}
	gone, cancel3 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel3()
	if left, ok := Deadline(gone, ""); !ok || left > 0 {
		t.Fatalf("a passed deadline: %v, %v (want ≤ 0: refused)", left, ok)
	}
}

// A deadline refusal is 504 with the pushback marker and no retry hint.
func TestDeadlineRejection(t *testing.T) {
	h := map[string]string{}
	status, body := WriteRejection(func(k, v string) { h[k] = v }, atrion.Decision{Reason: atrion.ReasonDeadline, Mode: atrion.ModeOperational})
	if status != 504 || h["Atrion-Reject"] != "deadline" || h["Retry-After"] != "" || h["Atrion-Retry-After-Ms"] != "" {
		t.Fatalf("status %d, headers %v", status, h)
	}
	if want := `{"error":"deadline","reason":"deadline","mode":"OPERATIONAL","retry_after_ms":0}`; string(body) != want {
		t.Fatalf("body %s, want %s", body, want)
	}
}
