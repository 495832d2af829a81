// Package docscheck checks the repository's Markdown: that the README
// stays short and starts with code, and that every relative link in it
// and in docs/ leads to a file that exists (and to a heading there, when
// the link names one). Its test runs the checks on the tree.
package docscheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// fence opens or closes a fenced code block.
var fence = regexp.MustCompile("^\\s*(```|~~~)")

// link is an inline link or image: [text](target) or ![alt](target), with
// an optional title after the target.
var link = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)

// codeSpan is inline code, where brackets are not links.
var codeSpan = regexp.MustCompile("`[^`]*`")

// FirstFence is the 1-based line of the first fence opening a block in
// the given language ("go" for ```go), or 0 when there is none.
func FirstFence(text, lang string) int {
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") && strings.TrimSpace(strings.TrimPrefix(t, "```")) == lang {
			return i + 1
		}
	}
	return 0
}

// Lines counts text's lines as an editor does (a final newline ends the
// last line rather than starting another).
func Lines(text string) int {
	if text == "" {
		return 0
	}
	return strings.Count(strings.TrimSuffix(text, "\n"), "\n") + 1
}

// Links are the link targets in text outside code blocks and code spans,
// with the line each is on.
func Links(text string) []Link {
	var links []Link
	inCode := false
	for i, l := range strings.Split(text, "\n") {
		if fence.MatchString(l) {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(codeSpan.ReplaceAllString(l, ""), -1) {
			links = append(links, Link{Line: i + 1, Target: m[1]})
		}
	}
	return links
}

// Link is one link's target and the line it is on.
type Link struct {
	Line   int
	Target string
}

// Relative reports whether target points into the repository: not a URL
// with a scheme, not a protocol-relative one.
func Relative(target string) bool {
	if strings.HasPrefix(target, "//") {
		return false
	}
	if i := strings.IndexAny(target, ":/#"); i > 0 && target[i] == ':' {
		return false // http:, https:, mailto:
	}
	return true
}

// Anchors are the anchors GitHub gives text's headings (outside code
// blocks): lower case, punctuation dropped, spaces as hyphens, repeats
// numbered -1, -2, ...
func Anchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	for _, l := range strings.Split(text, "\n") {
		if fence.MatchString(l) {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimLeft(l, "#")
		if h == "" || h[0] != ' ' {
			continue // #hashtag, not a heading
		}
		a := Slug(h)
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// Slug is a heading's anchor as GitHub makes it.
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f && isLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isLetter keeps non-ASCII letters (GitHub keeps é, drops ×, –, ·).
func isLetter(r rune) bool {
	return strings.ToLower(string(r)) != strings.ToUpper(string(r))
}

// Broken lists the relative links in the Markdown file name (under root)
// that lead nowhere: to a missing file, outside root, or to an anchor
// that is no heading of the Markdown file they lead to.
func Broken(root, name string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return nil, err
	}
	var broken []string
	for _, l := range Links(string(data)) {
		if !Relative(l.Target) {
			continue
		}
		file, anchor, _ := strings.Cut(l.Target, "#")
		target := filepath.Join(root, name) // a bare #anchor is this file's
		if file != "" {
			target = filepath.Join(root, filepath.Dir(name), filepath.FromSlash(file))
		}
		where := fmt.Sprintf("%s:%d: %s", name, l.Line, l.Target)
		if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			broken = append(broken, where+" (outside the repository)")
			continue
		}
		st, err := os.Stat(target)
		if err != nil {
			broken = append(broken, where+" (no such file)")
			continue
		}
		if anchor == "" {
			continue
		}
		if st.IsDir() || !strings.HasSuffix(target, ".md") {
			broken = append(broken, where+" (an anchor into something not Markdown)")
			continue
		}
		md, err := os.ReadFile(target)
		if err != nil {
			return nil, err
		}
		if !Anchors(string(md))[anchor] {
			broken = append(broken, where+" (no such heading)")
		}
	}
	return broken, nil
}
