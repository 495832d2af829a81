// Package doccheck checks the documentation that guards against misuse
// of the priority header options: a client that sets its own priority
// header to "critical" is shed only by an open circuit.
package doccheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository's root, from examples/internal/doccheck.
const root = "../../.."

// warning is what every priority header option's doc, and every example
// that enables one, must say.
const warning = "trusted hop"

// priorityHeaderUse reports whether line enables priorities from a
// header or gRPC metadata.
func priorityHeaderUse(line string) bool {
	return strings.Contains(line, ".WithPriorityHeader(") || strings.Contains(line, "PriorityHeader:") ||
		strings.Contains(line, ".WithPriorityMetadata(")
}

// comments returns the text of the comment lines just above line i of
// lines (a doc comment, or the comment block over a statement), joined
// into one line.
func comments(lines []string, i int) string {
	var words []string
	for j := i - 1; j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), "//"); j-- {
		words = append(strings.Fields(strings.TrimPrefix(strings.TrimSpace(lines[j]), "//")), words...)
	}
	return strings.Join(words, " ")
}

func read(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestOptionDocsWarn: the doc of each adapter's priority header option
// says the header must come from a trusted hop.
func TestOptionDocsWarn(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root, "adapters", "*", "*.go"))
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		lines := read(t, f)
		for i, l := range lines {
			decl := strings.HasPrefix(l, "func WithPriorityHeader(") || strings.HasPrefix(l, "func WithPriorityMetadata(") ||
				strings.HasPrefix(strings.TrimSpace(l), "PriorityHeader string")
			if !decl {
				continue
			}
			found++
			if !strings.Contains(comments(lines, i), warning) {
				t.Errorf("%s:%d: the doc of %q does not say the header must come from a %s", f, i+1, strings.TrimSpace(l), warning)
			}
		}
	}
	if found < 7 { // gin, echo, echo v5, fiber, fiber v3, net/http, gRPC
		t.Errorf("found %d priority header options, want every adapter's", found)
	}
}

// TestExamplesWarn: every example that enables priorities from a header
// says, right above, that it must come from a trusted hop.
func TestExamplesWarn(t *testing.T) {
	var files []string
	for _, pat := range []string{"examples/*/*.go", "adapters/*/example_test.go"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		files = append(files, m...)
	}
	uses := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") && !strings.HasSuffix(f, "example_test.go") {
			continue
		}
		lines := read(t, f)
		for i, l := range lines {
			if !priorityHeaderUse(l) || strings.HasPrefix(strings.TrimSpace(l), "//") {
				continue
			}
			uses++
			if !strings.Contains(comments(lines, i), warning) && !strings.Contains(l, warning) {
				t.Errorf("%s:%d: enables a priority header without saying it must come from a %s", f, i+1, warning)
			}
		}
	}
	if uses == 0 {
		t.Fatal("no example enables a priority header: is the search broken?")
	}
}

// TestSafeFormShown: the gin example derives priority from what the
// server knows (the route, an authenticated identity), not from a header.
func TestSafeFormShown(t *testing.T) {
	src := strings.Join(read(t, filepath.Join(root, "examples", "gin", "main.go")), "\n")
	if !strings.Contains(src, "atrgin.WithPriority(") || strings.Contains(src, "WithPriorityHeader(") {
		t.Error("examples/gin does not show the safe form: atrgin.WithPriority from the route or an authenticated identity")
	}
}
