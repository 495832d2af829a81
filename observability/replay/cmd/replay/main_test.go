package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrreplay "github.com/atrion-go/atrion/observability/replay"
)

// recordTrip records a route that trips and heals, to path.
func recordTrip(t *testing.T, path string) {
	rec, err := atrreplay.Create(path, atrreplay.Options{Label: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	a, clk := atriontest.New(t, atrion.WithObserver(rec))
	atriontest.Healthy(t, a, clk, "POST /pay", 30)
	atriontest.Trip(t, a, clk, "POST /pay")
	atriontest.Heal(t, a, clk, "POST /pay")
	atriontest.Healthy(t, a, clk, "GET /cart", 50)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	in, cfg, svg := filepath.Join(dir, "a.rec"), filepath.Join(dir, "slow.json"), filepath.Join(dir, "a.svg")
	recordTrip(t, in)
	os.WriteFile(cfg, []byte(`{"physics": {"bootstrapTicks": 40}}`), 0o644)
	var out, errs bytes.Buffer
	if err := run([]string{"-in", in, "-config", cfg, "-svg", svg, "-every", "2s"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	o := out.String()
	for _, want := range []string{
		`recording: "checkout"`, "POST /pay", "GET /cart", "recorded adm/shed", "recorded settings adm/shed", "slow.json adm/shed",
		"3.7s OP→OPEN", "(4 as recorded, 0 not, 0 new)", // the recorded settings reproduce the trip and the heal
		"10.4s BOOT→OP", // GET /cart with 40 bootstrap ticks instead of 10
	} {
		if !strings.Contains(o, want) {
			t.Errorf("the report lacks %q:\n%s", want, o)
		}
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if e, ok := tok.(xml.StartElement); ok && e.Name.Local == "rect" {
			rects++
		}
	}
	if rects < 10 {
		t.Fatalf("the chart has %d rectangles: no mode bands", rects)
	}
}

func TestReplayCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a recording"), 0o644)
	good := filepath.Join(dir, "a.rec")
	recordTrip(t, good)
	badCfg := filepath.Join(dir, "bad.json")
	os.WriteFile(badCfg, []byte(`{"physics": {"scarFactr": 2}}`), 0o644)
	for _, args := range [][]string{
		{},
		{"-in", filepath.Join(dir, "missing")},
		{"-in", junk},
		{"-in", good, "-config", badCfg, "-svg", "-"},
		{"-in", good, "-every", "0s"},
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
	// a truncated recording replays what precedes the damage, with a warning
	b, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.rec")
	os.WriteFile(cut, b[:len(b)-5], 0o644)
	var errs bytes.Buffer
	if err := run([]string{"-in", cut, "-svg", "-"}, io.Discard, &errs); err != nil || !strings.Contains(errs.String(), "truncated") {
		t.Fatalf("a truncated recording: %v, stderr %q", err, errs.String())
	}
}

// hostile writes, with the real Recorder, a recording of n ticks of route
// "r", tick i ending at start + at(i) with admitted requests that all
// succeed, and returns its path.
func hostile(t *testing.T, n int, at func(i int) time.Duration, admitted uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hostile.rec")
	rec, err := atrreplay.Create(path, atrreplay.Options{Tick: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_700_000_000, 0)
	for i := range n {
		rec.OnUpdate(atrion.Event{Kind: atrion.EventTick, Route: "r", Time: start.Add(at(i)), Dt: 100 * time.Millisecond,
			Mode: atrion.ModeOperational, Admitted: admitted, Succeeded: admitted, Latency: time.Millisecond, Resistance: 10})
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// 20 ticks spread over nine years: the report once had a line per second
// of the nine years (millions with -every 1m, out of memory with -every
// 1s). The silences are shortened to atrreplay.MaxSilence, the empty
// stretches counted, not listed, and the command says so.
func TestReplayCommandShortensSilences(t *testing.T) {
	const year = 365 * 24 * time.Hour
	in := hostile(t, 20, func(i int) time.Duration { return time.Duration(i) * 9 * year / 19 }, 3)
	if fi, _ := os.Stat(in); fi.Size() > 1024 {
		t.Fatalf("the recording is %d bytes: not the small file of the finding", fi.Size())
	}
	rec, err := atrreplay.ReadFile(in, atrreplay.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	span := rec.Ticks[len(rec.Ticks)-1].At - rec.Ticks[0].At
	if rec.Silences != 19 || span > 19*atrreplay.MaxSilence+20*rec.Tick || rec.SilenceCut < 8*year {
		t.Fatalf("read back: %d silences shortened (%v cut), span %v: want 19, at most 19 × %v and 20 ticks", rec.Silences, rec.SilenceCut, span, atrreplay.MaxSilence)
	}
	var out, errs bytes.Buffer
	if err := run([]string{"-in", in, "-every", "1s", "-svg", "-"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines > 100 || !strings.Contains(out.String(), "stretches without requests") {
		t.Fatalf("the report has %d lines, want at most 100 with the empty stretches counted:\n%.2000s", lines, out.String())
	}
	t.Logf("report: %d lines, %d bytes", strings.Count(out.String(), "\n"), out.Len())
	if !strings.Contains(errs.String(), "19 silences longer than 10m0s shortened") {
		t.Fatalf("the command did not say the silences were shortened: %q", errs.String())
	}
	if !strings.Contains(out.String(), "60 requests offered") {
		t.Fatalf("the replay did not offer the 20 ticks' 60 requests:\n%.1000s", out.String())
	}
}

// 50 consecutive ticks claiming 4e9 requests each (the engine's counters'
// most): a replay once offered 100,000 a tick, 1e6 a second, whatever the
// tick; now a route gets at most atrreplay.MaxRate a second, and the
// command says how many were left out.
func TestReplayCommandClampsArrivals(t *testing.T) {
	in := hostile(t, 50, func(i int) time.Duration { return time.Duration(i+1) * 100 * time.Millisecond }, 4_000_000_000)
	var out, errs bytes.Buffer
	if err := run([]string{"-in", in, "-svg", "-"}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	var offered, extra, skipped, clamped uint64
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "recorded settings: "); ok {
			fmt.Sscanf(rest, "%d requests offered, %d admitted beyond the recorded admissions (ends estimated), %d recorded ends skipped, %d clamped", &offered, &extra, &skipped, &clamped)
		}
	}
	if limit := uint64(50 * atrreplay.MaxRate / 10); offered == 0 || offered > limit || clamped < 50*(4_000_000_000-atrreplay.MaxRate/10) {
		t.Fatalf("offered %d (at most %d), clamped %d:\n%.600s", offered, limit, clamped, out.String())
	}
	if !strings.Contains(errs.String(), "not replayed") {
		t.Fatalf("the command did not say requests were left out: %q", errs.String())
	}
}
