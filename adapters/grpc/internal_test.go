package atrgrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// testEngine is an engine for building configurations; nothing runs on it.
var testEngine = func() *atrion.Atrion {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	return a
}()

func TestWithPriorityMetadataKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                        DefaultPriorityKey,
		"   ":                     DefaultPriorityKey,
		"X-Tier":                  "x-tier",
		" x-tier ":                "x-tier",
		"tier_1.b":                "tier_1.b",
		"x-priority-bin":          DefaultPriorityKey, // binary values
		"grpc-priority":           DefaultPriorityKey, // reserved
		"x priority":              DefaultPriorityKey,
		"x-prïority":              DefaultPriorityKey,
		"x:priority":              DefaultPriorityKey,
		strings.Repeat("k", 65):   DefaultPriorityKey,
		strings.Repeat("k", 64):   strings.Repeat("k", 64),
		"\x00":                    DefaultPriorityKey,
		"X-PRIORITY\r\nInjected:": DefaultPriorityKey,
	} {
		c := newConfig(testEngine, []Option{WithPriorityMetadata(in)})
		if c.priorityKey != want {
			t.Errorf("WithPriorityMetadata(%q): key %q, want %q", in, c.priorityKey, want)
		}
	}
}

// A metadata priority is one value that HeaderPriority reads; anything
// else is normal, so bad metadata can neither fail a call nor raise it.
func TestMetadataPriority(t *testing.T) {
	for _, tc := range []struct {
		vs   []string
		want atrion.Priority
	}{
		{nil, atrion.PriorityNormal},
		{[]string{}, atrion.PriorityNormal},
		{[]string{"critical"}, atrion.PriorityCritical},
		{[]string{" High "}, atrion.PriorityHigh},
		{[]string{"BULK"}, atrion.PriorityBulk},
		{[]string{"1"}, atrion.PriorityLow},
		{[]string{"-2"}, atrion.PriorityCritical},
		{[]string{"critical", "bulk"}, atrion.PriorityNormal}, // ambiguous
		{[]string{""}, atrion.PriorityNormal},
		{[]string{"urgent"}, atrion.PriorityNormal},
		{[]string{"3"}, atrion.PriorityNormal},
		{[]string{"-3"}, atrion.PriorityNormal},
		{[]string{"1.0"}, atrion.PriorityNormal},
		{[]string{"NaN"}, atrion.PriorityNormal},
		{[]string{strings.Repeat("critical", 1000)}, atrion.PriorityNormal},
		{[]string{"\x00critical"}, atrion.PriorityNormal},
	} {
		if got := metadataPriority(tc.vs); got != tc.want {
			t.Errorf("metadataPriority(%.30q) = %v, want %v", tc.vs, got, tc.want)
		}
	}
}

func FuzzMetadataPriority(f *testing.F) {
	for _, s := range []string{"", "critical", " bulk ", "-2", "2", "99", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := metadataPriority([]string{v})
		if p < atrion.PriorityCritical || p > atrion.PriorityBulk {
			t.Fatalf("metadataPriority(%q) = %d, outside the priorities", v, p)
		}
		c := newConfig(testEngine, []Option{WithPriorityMetadata(v)})
		if !validKey(c.priorityKey) {
			t.Fatalf("WithPriorityMetadata(%q) kept invalid key %q", v, c.priorityKey)
		}
	})
}

func TestCodeOf(t *testing.T) {
	st := status.Error(codes.DataLoss, "lost")
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{st, codes.DataLoss},
		{fmt.Errorf("calling the store: %w", st), codes.DataLoss},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{errors.New("plain"), codes.Unknown},
		{status.Error(codes.OK, ""), codes.OK}, // status.Error with OK is nil
	} {
		if got := codeOf(tc.err); got != tc.want {
			t.Errorf("codeOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Codes gRPC does not define say nothing about the service.
func TestClassifyUnknownCode(t *testing.T) {
	if c := ClassifyCode(codes.Code(99)); c != atrion.Ignored {
		t.Errorf("ClassifyCode(99) = %v, want ignored", c)
	}
	if c := Classify(status.Error(codes.Code(1000), "?")); c != atrion.Ignored {
		t.Errorf("Classify(code 1000) = %v, want ignored", c)
	}
}

// The context decides before the classifier: a call whose caller went
// away or whose deadline passed is the caller's outcome (Canceled),
// whatever it returned, except a DeadlineExceeded returned before the
// context's deadline, which is the call's own timeout: the classifier's.
func TestOutcomeContextRules(t *testing.T) {
	c := newConfig(testEngine, nil)
	internal := status.Error(codes.Internal, "x")
	deadline := status.Error(codes.DeadlineExceeded, "downstream timed out")
	ctxDeadline := status.FromContextError(context.DeadlineExceeded).Err()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	far, cancelFar := context.WithTimeout(context.Background(), time.Hour)
	cancelFar() // cancelled long before its deadline
	near, cancelNear := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelNear()
	nearCancelled, cancelNearNow := context.WithTimeout(context.Background(), 10*time.Millisecond)
	cancelNearNow() // a reset racing the server's own timer
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	live, cancelLive := context.WithTimeout(context.Background(), time.Hour)
	defer cancelLive()
	// the deadline has passed but the context's timer has not fired yet:
	// a DeadlineExceeded is the caller's, anything else the classifier's
	late := lateContext{Context: context.Background(), dl: time.Now().Add(-time.Millisecond)}

	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want atrion.Class
	}{
		{"live ok", context.Background(), nil, atrion.Success},
		{"live internal", context.Background(), internal, atrion.Failure},
		{"live, own downstream deadline", live, deadline, atrion.Failure},
		{"live, own downstream deadline, wrapped", live, fmt.Errorf("store: %w", context.DeadlineExceeded), atrion.Failure},
		{"live, no deadline, own downstream deadline", context.Background(), deadline, atrion.Failure},
		{"live near its deadline", near, nil, atrion.Success},
		{"past its deadline, timer not fired", late, deadline, atrion.Canceled},
		{"past its deadline, timer not fired, ok", late, nil, atrion.Success},
		{"past its deadline, timer not fired, internal", late, internal, atrion.Failure},
		{"cancelled ok", cancelled, nil, atrion.Canceled},
		{"cancelled internal", cancelled, internal, atrion.Canceled},
		{"cancelled, canceled status", cancelled, status.Error(codes.Canceled, ""), atrion.Canceled},
		{"cancelled without a deadline, own downstream deadline", cancelled, deadline, atrion.Failure},
		{"cancelled far from deadline", far, internal, atrion.Canceled},
		{"cancelled far from deadline, own downstream deadline", far, deadline, atrion.Failure},
		{"cancelled at the deadline", nearCancelled, status.Error(codes.Canceled, ""), atrion.Canceled},
		{"expired ok", expired, nil, atrion.Canceled},
		{"expired internal", expired, internal, atrion.Canceled},
		{"expired notfound", expired, status.Error(codes.NotFound, ""), atrion.Canceled},
		{"expired, its own deadline's status", expired, ctxDeadline, atrion.Canceled},
		{"expired, its own deadline's error", expired, context.DeadlineExceeded, atrion.Canceled},
		{"expired, a deadline status", expired, deadline, atrion.Canceled},
	} {
		if got := c.outcome(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// lateContext is a live context whose deadline has passed: a context
// reports its error only once its timer has fired, a little after the
// deadline.
type lateContext struct {
	context.Context
	dl time.Time
}

func (c lateContext) Deadline() (time.Time, bool) { return c.dl, true }

func TestPushbackValue(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "1",
		999 * time.Microsecond:  "1",
		1500 * time.Millisecond: "1500",
		5 * time.Minute:         "300000",
	} {
		if got := pushback(d, atrion.Decision{}).Get(PushbackTrailer); len(got) != 1 || got[0] != want {
			t.Errorf("pushback(%v) = %q, want %q", d, got, want)
		}
	}
}

// The rejection's message and RetryInfo carry the same jittered hint.
func TestRejectionStatus(t *testing.T) {
	d := atrion.Decision{Reason: atrion.ReasonShed, Mode: atrion.ModeOperational, RetryAfter: time.Second}
	r := newRejection("/s/M", "server", d, codes.ResourceExhausted)
	if r.RetryAfter < time.Second || r.RetryAfter >= 1500*time.Millisecond {
		t.Errorf("retry %v outside [1s, 1.5s)", r.RetryAfter)
	}
	st := status.Convert(r)
	want := fmt.Sprintf("atrion: server rejected the call (shed, OPERATIONAL); retry after %dms", r.RetryAfter.Milliseconds())
	if st.Code() != codes.ResourceExhausted || st.Message() != want {
		t.Errorf("rejection %v %q, want ResourceExhausted %q", st.Code(), st.Message(), want)
	}
	if len(st.Details()) != 1 {
		t.Errorf("details %v, want one RetryInfo", st.Details())
	}
	if !errors.Is(r, ErrRejected) || !errors.Is(fmt.Errorf("call: %w", r), ErrRejected) {
		t.Error("errors.Is does not find ErrRejected in a rejection")
	}
	if r.Error() != status.Error(codes.ResourceExhausted, want).Error() {
		t.Errorf("Error() = %q", r.Error())
	}
}
