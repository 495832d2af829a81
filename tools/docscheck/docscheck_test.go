package docscheck

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// root is the repository, two levels up from tools/docscheck.
const root = "../.."

// The README is for users: short, and code comes first.
func TestREADMEShortAndStartsWithCode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if n := Lines(text); n > 300 {
		t.Errorf("README.md has %d lines; at most 300 (move evidence to docs/)", n)
	}
	switch line := FirstFence(text, "go"); {
	case line == 0:
		t.Error("README.md has no ```go block")
	case line > 40:
		t.Errorf("README.md's first ```go block opens at line %d; at most 40", line)
	}
}

// Every relative link in README.md and docs/*.md leads to a file that
// exists, and to a heading there when it names one.
func TestRelativeLinksResolve(t *testing.T) {
	names := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md: the evidence the README links to is missing")
	}
	for _, d := range docs {
		names = append(names, filepath.Join("docs", filepath.Base(d)))
	}
	checked := 0
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range Links(string(data)) {
			if Relative(l.Target) {
				checked++
			}
		}
		broken, err := Broken(root, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range broken {
			t.Error(b)
		}
	}
	if checked < 10 {
		t.Errorf("only %d relative links found: the link pattern misses them", checked)
	}
}

// The checker finds what is broken: a missing file, a missing heading, a
// link out of the tree; and it passes what is fine, ignoring links in
// code and URLs.
func TestBrokenFindsBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "docs"), 0o755)
	os.WriteFile(filepath.Join(dir, "docs", "a.md"), []byte("# Wind Tunnel: results\n\n## Stability map\n\n## Stability map\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("x"), 0o644)
	readme := strings.Join([]string{
		"# Title",
		"[ok](docs/a.md) [ok](docs/a.md#wind-tunnel-results) [ok](docs/a.md#stability-map-1) [ok](LICENSE) [ok](#title)",
		"[missing](docs/b.md) [no heading](docs/a.md#nope) [out](../etc/passwd) [self](#nope)",
		"[url](https://example.com/x.md) [mail](mailto:a@b) `[code](nowhere.md)` ![img](docs/img.png)",
		"```",
		"[in a block](nowhere.md)",
		"```",
	}, "\n")
	os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644)
	got, err := Broken(dir, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:3: docs/b.md (no such file)",
		"README.md:3: docs/a.md#nope (no such heading)",
		"README.md:3: ../etc/passwd (outside the repository)",
		"README.md:3: #nope (no such heading)",
		"README.md:4: docs/img.png (no such file)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Broken:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Broken(dir, "missing.md"); err == nil {
		t.Error("Broken on a missing file: no error")
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		" The Wind Tunnel": "the-wind-tunnel",
		" `make demo`":     "make-demo",
		" Real loopback load test (`make loadtest`)":                         "real-loopback-load-test-make-loadtest",
		" Decision Dashboard (`observability/dashboard`, package `atrdash`)": "decision-dashboard-observabilitydashboard-package-atrdash",
		" Cluster: shared state & bans":                                      "cluster-shared-state--bans",
		" Différences × 2":                                                   "différences--2",
		"":                                                                   "",
	} {
		if got := Slug(heading); got != want {
			t.Errorf("Slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestLinesAndFirstFence(t *testing.T) {
	for text, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\n\n": 2} {
		if got := Lines(text); got != want {
			t.Errorf("Lines(%q) = %d, want %d", text, got, want)
		}
	}
	text := "# x\n```sh\ngo get\n```\n\n```go\npackage main\n```\n"
	if got := FirstFence(text, "go"); got != 6 {
		t.Errorf("FirstFence = %d, want 6", got)
	}
	if got := FirstFence("no code", "go"); got != 0 {
		t.Errorf("FirstFence with no block = %d", got)
	}
}

// Hostile Markdown: unbalanced brackets, huge lines, a fence never
// closed, NUL bytes. Nothing panics and nothing is invented.
func TestHostileMarkdown(t *testing.T) {
	for _, text := range []string{
		"[", "](", "[a](", "[a]()", "![](", "```go", "[a](b\x00c)", strings.Repeat("[a](b) ", 10000),
		strings.Repeat("[", 100000), "# \n#\n#x\n", "~~~\n[a](b)\n",
	} {
		Links(text)
		Anchors(text)
		FirstFence(text, "go")
	}
	if got := Links("```go\n[a](b)"); len(got) != 0 {
		t.Errorf("links inside an unclosed block: %v", got)
	}
	if got := Links("[a]()"); len(got) != 0 {
		t.Errorf("an empty target is a link: %v", got)
	}
}
