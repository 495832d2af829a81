package atrdash

import (
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func TestRecorderKeepsNewestFirst(t *testing.T) {
	r := NewRecorder(2)
	ch := r.wait()
	r.OnUpdate(atrion.Event{Kind: atrion.EventTick, Route: "tick"})
	select {
	case <-ch:
		t.Fatal("a tick woke the stream")
	default:
	}
	for i, to := range []atrion.Mode{atrion.ModeCircuitOpen, atrion.ModeRecovering, atrion.ModeOperational} {
		r.OnUpdate(atrion.Event{Kind: atrion.EventTransition, Route: "r", From: atrion.Mode(i), To: to, Resistance: 1})
	}
	select {
	case <-ch:
	default:
		t.Fatal("a transition did not wake the stream")
	}
	got := r.Transitions()
	if len(got) != 2 || got[0].To != "OPERATIONAL" || got[1].To != "RECOVERING" {
		t.Errorf("transitions = %+v, want the last two, newest first", got)
	}
	if n := len(NewRecorder(0).ring); n != DefaultTransitions {
		t.Errorf("NewRecorder(0) keeps %d, want %d", n, DefaultTransitions)
	}
	if n := len(NewRecorder(1 << 20).ring); n != 1000 {
		t.Errorf("NewRecorder(huge) keeps %d, want 1000", n)
	}
}

func TestRecorderAsEngineObserver(t *testing.T) {
	rec := NewRecorder(0)
	a, clk := newEngine(t, atrion.WithObserver(rec), atrion.WithPhysics(atrion.PhysicsConfig{
		BootstrapTicks: atrion.NoBootstrap, RecoveryTicks: 2,
	}))
	d := New(a, WithRecorder(rec))
	atriontest.Trip(t, a, clk, "POST /pay")
	clk.Advance(time.Minute) // heals with time alone
	for range 10 {
		traffic(a, clk, "POST /pay", 5, atrion.Success)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, tr := range d.State().Transitions {
		path = append([]string{tr.To}, path...)
	}
	want := []string{"CIRCUIT_OPEN", "RECOVERING", "OPERATIONAL"}
	if len(path) != len(want) || path[0] != want[0] || path[1] != want[1] || path[2] != want[2] {
		t.Errorf("recorded path %v, want %v", path, want)
	}
}
