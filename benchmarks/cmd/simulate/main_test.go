package main

import "testing"

func TestSelection(t *testing.T) {
	scs, cs, err := selection("chaos, domino", "gobreaker")
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 2 || len(cs) != 2 || cs[0].Name != "none" || cs[1].Name != "gobreaker" {
		t.Fatalf("got %d scenarios, contestants %v", len(scs), cs)
	}
	for _, bad := range [][2]string{{"nope", ""}, {"", "nope"}, {",", ""}} {
		if _, _, err := selection(bad[0], bad[1]); err == nil {
			t.Errorf("selection(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestSeedsAndJSONName(t *testing.T) {
	if s, err := parseSeeds(4, ""); err != nil || len(s) != 1 || s[0] != 4 {
		t.Errorf("no list: %v %v", s, err)
	}
	if s, err := parseSeeds(4, "1, 2,3"); err != nil || len(s) != 3 || s[2] != 3 {
		t.Errorf("list: %v %v", s, err)
	}
	if _, err := parseSeeds(1, "1,x"); err == nil {
		t.Error("bad seed accepted")
	}
	if checkJSONName("s.json", 3) == nil || checkJSONName("s%d.json", 3) != nil || checkJSONName("s.json", 1) != nil {
		t.Error("a JSON name for several seeds needs one seed placeholder")
	}
	if jsonName("r/s%d.json", 2) != "r/s2.json" || jsonName("s.json", 2) != "s.json" {
		t.Error("jsonName")
	}
}
