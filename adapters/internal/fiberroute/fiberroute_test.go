package fiberroute

import "testing"

// Plain templates are matched here; only the others go to Config.Match.
func TestCompile(t *testing.T) {
	r := &Resolver{fold: true}
	for tmpl, complex := range map[string]bool{
		"/users/:id": false, "/files/*": false, "/assets/+": false, "/opt/:a?": false, "/a/b/c": false, "/": false,
		"/shop/:item<int>": true, "/flights/:from-:to": true, "/file/:name.:ext": true, "/esc/\\:colon": true,
		"/a/*/b": true, "/x*": true, "/:a?/b": true, "/a//:b": true, "/a//b": false,
	} {
		if got := r.compile(tmpl).complex; got != complex {
			t.Errorf("compile(%q).complex = %v, want %v", tmpl, got, complex)
		}
	}
}
