package windtunnel

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// wellFormed parses an SVG document to its end.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

func TestChartAndScorecard(t *testing.T) {
	sc, _ := ScenarioByName("cb-recovery")
	cs := []Contestant{None, Atrion, Gobreaker}
	b := NewBoard(1, []Scenario{sc}, cs)
	var rs []*Result
	for _, c := range cs {
		r := Run(t, sc, c, 1)
		b.Add(r)
		rs = append(rs, r)
	}
	var svg bytes.Buffer
	if err := WriteChart(&svg, sc, rs); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, svg.Bytes())
	for _, want := range []string{"<polyline", "Atrion R", "shed share", "served / s", "gobreaker", "half-open"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}

	var md bytes.Buffer
	b.WriteSummary(&md)
	b.WriteScorecards(&md)
	b.Settings(&md)
	out := md.String()
	for _, c := range cs {
		if !strings.Contains(out, "| "+c.Name) {
			t.Errorf("scorecard lacks a row for %s", c.Name)
		}
	}
	if !strings.Contains(out, "Atrion pass: does not latch") {
		t.Error("scorecard lacks Atrion's verdicts")
	}
	// each table's lines line up
	var width int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			width = 0
			continue
		}
		n := utf8.RuneCountInString(line)
		if width != 0 && n != width {
			t.Fatalf("ragged table line (%d runes, want %d): %s", n, width, line)
		}
		width = n
	}
}

// TestStabilityMap: a small sweep classifies every cell; the defaults
// neither flap nor latch, and the map prints and draws.
func TestStabilityMap(t *testing.T) {
	g := StabilityGrid{Decays: []float64{0.1, 2}, Scars: []float64{5}, Dampings: []float64{0.02}}
	cells, err := StabilityMap(g, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2", len(cells))
	}
	for _, c := range cells {
		if c.Class > Latched || c.TimelyTrips < 0 || c.TimelyTrips > oscCycles {
			t.Errorf("bad cell %+v", c)
		}
		if c.isDefault() && (c.Class == Flapping || c.Class == Latched) {
			t.Errorf("defaults classified %s: %+v", c.Class, c)
		}
	}
	// the defaults track the input, and so does scar that heals 20×
	// faster: an open circuit heals on probe evidence, not on the scar's
	// decay (before that, the fast healer was sluggish here)
	for _, c := range cells {
		if c.Class != Stable || c.TimelyTrips != oscCycles {
			t.Errorf("λ %g: %s (%d of %d timely trips); want stable, tripping in every bad phase",
				c.Decay, c.Class, c.TimelyTrips, oscCycles)
		}
	}
	var txt, svg bytes.Buffer
	WriteStabilityMap(&txt, g, cells)
	if !strings.Contains(txt.String(), "[") || !strings.Contains(txt.String(), "of 2") {
		t.Errorf("map lacks the bracketed default or the tally:\n%s", txt.String())
	}
	if err := WriteStabilitySVG(&svg, g, cells); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, svg.Bytes())
}

func TestClassNames(t *testing.T) {
	for c, want := range map[StabilityClass]string{Stable: "S", Flapping: "F", Sluggish: "G", Latched: "L"} {
		if c.Letter() != want || c.String() == "invalid" {
			t.Errorf("%d: %s %s", c, c.Letter(), c)
		}
	}
	if StabilityClass(9).String() != "invalid" || State(9).String() != "invalid" {
		t.Error("out-of-range values must print as invalid")
	}
	if Timeout.String() != "timeout" || Success.String() != "success" || Failure.String() != "failure" {
		t.Error("outcome names")
	}
}
