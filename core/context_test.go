package atrion_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func TestDecisionFromContext(t *testing.T) {
	type other struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), other{}, "kept"))
	d := atrion.Decision{Allowed: true, Reason: atrion.ReasonAdmitted, Mode: atrion.ModeRecovering, RetryAfter: 42}
	ctx := atrion.ContextWithDecision(parent, d)

	got, ok := atrion.DecisionFrom(ctx)
	if !ok || got != d {
		t.Fatalf("DecisionFrom = %+v, %v; want %+v, true", got, ok, d)
	}
	if v := ctx.Value(other{}); v != "kept" {
		t.Errorf("parent's value = %v; want kept", v)
	}
	// a context derived from it sees the decision and the parent's cancellation
	child, stop := context.WithTimeout(ctx, time.Hour)
	defer stop()
	if got, ok := atrion.DecisionFrom(child); !ok || got != d {
		t.Errorf("DecisionFrom(child) = %+v, %v", got, ok)
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the parent did not reach the child")
	}
	// the innermost decision wins
	inner := atrion.Decision{Reason: atrion.ReasonShed}
	if got, _ := atrion.DecisionFrom(atrion.ContextWithDecision(ctx, inner)); got != inner {
		t.Errorf("inner decision = %+v; want %+v", got, inner)
	}
}

func TestDecisionFromWithout(t *testing.T) {
	for _, ctx := range []context.Context{context.Background(), nil} {
		if d, ok := atrion.DecisionFrom(ctx); ok || d != (atrion.Decision{}) {
			t.Errorf("DecisionFrom(%v) = %+v, %v; want zero, false", ctx, d, ok)
		}
	}
}

func TestDecisionContextAllocs(t *testing.T) {
	ctx := context.Background()
	d := atrion.Decision{Allowed: true}
	if n := testing.AllocsPerRun(100, func() { ctx = atrion.ContextWithDecision(context.Background(), d) }); n != 1 {
		t.Errorf("ContextWithDecision: %v allocs; want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { d, _ = atrion.DecisionFrom(ctx) }); n != 0 {
		t.Errorf("DecisionFrom: %v allocs; want 0", n)
	}
}

func TestModeReasonText(t *testing.T) {
	for m := atrion.ModeBootstrap; m.Valid(); m++ {
		b, err := m.MarshalText()
		if err != nil || string(b) != m.String() {
			t.Errorf("%d.MarshalText() = %q, %v; want %q", m, b, err, m.String())
		}
		var back atrion.Mode
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("UnmarshalText(%q) = %v, %v", b, back, err)
		}
	}
	for r := atrion.ReasonAdmitted; r <= atrion.ReasonVoltage; r++ {
		b, err := r.MarshalText()
		if err != nil || string(b) != r.String() {
			t.Errorf("%d.MarshalText() = %q, %v; want %q", r, b, err, r.String())
		}
		var back atrion.Reason
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("UnmarshalText(%q) = %v, %v", b, back, err)
		}
	}
	if _, err := atrion.Mode(9).MarshalText(); err == nil {
		t.Error("Mode(9).MarshalText: no error")
	}
	if _, err := atrion.Reason(99).MarshalText(); err == nil {
		t.Error("Reason(99).MarshalText: no error")
	}
	var m atrion.Mode
	if err := m.UnmarshalText([]byte("open")); err == nil {
		t.Error(`Mode.UnmarshalText("open"): no error`)
	}
	var r atrion.Reason
	if err := r.UnmarshalText([]byte("Shed")); err == nil {
		t.Error(`Reason.UnmarshalText("Shed"): no error`)
	}
}

// Decisions and snapshots encode their mode and reason by name.
func ExampleMode_MarshalText() {
	b, _ := json.Marshal(atrion.Decision{Reason: atrion.ReasonCircuitOpen, Mode: atrion.ModeCircuitOpen, RetryAfter: time.Second})
	fmt.Println(string(b))
	// Output: {"Allowed":false,"Reason":"circuit_open","Mode":"CIRCUIT_OPEN","RetryAfter":1000000000}
}

// A handler reads the decision an adapter put in its request's context.
func ExampleDecisionFrom() {
	ctx := atrion.ContextWithDecision(context.Background(), atrion.Decision{Allowed: true, Mode: atrion.ModeRecovering})
	if d, ok := atrion.DecisionFrom(ctx); ok {
		fmt.Println("admitted while", d.Mode)
	}
	// Output: admitted while RECOVERING
}
