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
