package atrreplay

import (
	"bytes"
	"context"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

func readBack(t *testing.T, file []byte) *Recording {
	t.Helper()
	rec, err := Read(bytes.NewReader(file), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReplayWithTheRecordedSettingsReproducesTheRecording(t *testing.T) {
	cfg := []byte(`{"slo": {"baselineLatency": "40ms"}}`)
	file, _ := record(t, Options{Config: cfg}, mustParse(t, cfg)...)
	rec := readBack(t, file)
	s, err := RecordedSettings(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Replay(rec, s)
	if err != nil {
		t.Fatal(err)
	}
	want := Recorded(rec)
	if m, miss, extra := Match(want, got, 0); len(miss) != 0 || len(extra) != 0 || m != len(want.Transitions) {
		t.Fatalf("transitions: %d matched of %d, missing %+v, extra %+v", m, len(want.Transitions), miss, extra)
	}
	for i, w := range want.Ticks {
		if i >= len(got.Ticks) {
			t.Fatalf("%d ticks replayed, %d recorded", len(got.Ticks), len(want.Ticks))
		}
		g := got.Ticks[i]
		if g.At != w.At || g.Mode != w.Mode || g.Admitted != w.Admitted || g.Shed != w.Shed || g.InFlight != w.InFlight {
			t.Fatalf("tick %d: replayed %+v, recorded %+v (%d replayed, %d recorded)", i, g, w, len(got.Ticks), len(want.Ticks))
		}
	}
}

func mustParse(t *testing.T, cfg []byte) []atrion.Option {
	t.Helper()
	opts, err := atrion.ParseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

func TestReplayWithNewSettingsDecidesAgain(t *testing.T) {
	file, _ := record(t, Options{})
	rec := readBack(t, file)
	// a longer bootstrap: the route leaves it 20 ticks later
	s, err := NewSettings(rec, "slow-start.json", []byte(`{"physics": {"bootstrapTicks": 30}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Replay(rec, s)
	if err != nil {
		t.Fatal(err)
	}
	leaves := func(r *Result) time.Duration {
		for _, tr := range r.Transitions {
			if tr.From == atrion.ModeBootstrap {
				return tr.At
			}
		}
		return -1
	}
	if w, g := leaves(Recorded(rec)), leaves(got); w != time.Second || g != 3*time.Second {
		t.Fatalf("bootstrap left at %v recorded (want 1s), at %v with 30 bootstrap ticks (want 3s)", w, g)
	}
	if _, err := NewSettings(rec, "bad.json", []byte(`{"physics": {"scarFactr": 1}}`)); err == nil {
		t.Fatal("NewSettings accepted an unknown field")
	}
}

func TestReplayClampsHostileRecordings(t *testing.T) {
	year := int64(365 * 24 * time.Hour)
	huge := build(header(1e8), block(routeRec("r"),
		tickRec(0, tickExplicit|tickShed, 1, 2, maxCount, maxCount, maxCount, 0, 0, 0, 0),
		tickRec(0, tickExplicit, zigzag(9*year)<<1|1, 2, 3, 3, 0, 0, 0, 0),  // nine years on
		tickRec(0, tickExplicit, zigzag(-9*year)<<1|1, 2, 3, 3, 0, 0, 0, 0), // and back
	))
	rec := readBack(t, huge)
	s, _ := RecordedSettings(rec)
	got, err := Replay(rec, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Offered > 3*MaxTickDemand || got.Clamped == 0 {
		t.Fatalf("offered %d, clamped %d: a tick's demand is not bounded", got.Offered, got.Clamped)
	}
}

// A configuration change the recording saw is applied at its time by a
// replay with the recorded settings, and not by one with new settings.
func TestReplayAppliesRecordedConfigurationChanges(t *testing.T) {
	var buf bytes.Buffer
	rec, _ := NewRecorder(&buf, Options{})
	a, clk := atriontest.New(t, atrion.WithObserver(rec))
	fast := []byte(`{"physics": {"recoveryTicks": 5}}`)
	for i := range 100 { // down from 3 s to 5 s; at 5 s an operator shortens the recovery
		if i == 50 {
			if err := a.Update(mustParse(t, fast)...); err != nil {
				t.Fatal(err)
			}
			if err := rec.Reconfigured(a.Now(), fast); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			tk, d := a.Admit("POST /pay", atrion.PriorityNormal)
			switch {
			case !d.Allowed:
			case i >= 30 && i < 50:
				tk.DoneLatency(atrion.Failure, 900*time.Millisecond)
			default:
				tk.DoneLatency(atrion.Success, 40*time.Millisecond)
			}
		}
		clk.Advance(a.Tick())
	}
	a.Snapshot("POST /pay")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec.Close()
	r := readBack(t, buf.Bytes())
	if len(r.Reconfigs) != 1 {
		t.Fatalf("%d configuration changes read back", len(r.Reconfigs))
	}
	same, _ := RecordedSettings(r)
	got, err := Replay(r, same)
	if err != nil {
		t.Fatal(err)
	}
	want := Recorded(r)
	if m, miss, extra := Match(want, got, 0); len(miss)+len(extra) > 0 || m < 4 {
		t.Fatalf("with the recorded change: %d matched, missing %v, extra %v", m, miss, extra)
	}
	defaults, _ := NewSettings(r, "defaults", nil)
	got, err = Replay(r, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if _, miss, _ := Match(want, got, 0); len(miss) != 1 || miss[0].To != atrion.ModeOperational {
		t.Fatalf("without the change, only the recovery should move: missing %v", miss)
	}
}
