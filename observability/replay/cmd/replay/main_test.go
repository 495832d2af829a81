package main

import (
	"bytes"
	"context"
	"encoding/xml"
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
