// Command release checks that the repository can be released at a
// version and tags every module of go.work with it, each with its path
// prefix as the go command looks tags up for a module in a subdirectory
// (core/v0.1.0, adapters/gin/v0.1.0, …). It creates the tags locally and
// pushes nothing. make release runs it twice: with -check before the
// lint and the tests, and with -tag after them.
//
//	release -check v0.1.0    the tree is clean, every module requires its siblings at v0.1.0, no tag exists yet
//	release -tag v0.1.0      the same checks, then the tags
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/atrion-go/atrion/tools/modproxy"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

const prefix = "github.com/atrion-go/atrion/"

func main() {
	check := flag.String("check", "", "check that the tree can be released at `version`")
	tag := flag.String("tag", "", "check, then tag every module with `version`")
	root := flag.String("root", "..", "the repository's root")
	flag.Parse()
	version, doTag := *check, false
	if *tag != "" {
		version, doTag = *tag, true
	}
	if version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: release -check VERSION | -tag VERSION")
		os.Exit(2)
	}
	tags, err := release(*root, version, doTag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	if doTag {
		fmt.Printf("tagged %d modules at %s (local only; push with: git push origin %s)\n",
			len(tags), version, strings.Join(tags, " "))
	} else {
		fmt.Printf("release %s: %d modules can be tagged\n", version, len(tags))
	}
}

// release checks root for a release at version and, when tag is true,
// creates the tags. It returns the tags.
func release(root, version string, tag bool) ([]string, error) {
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return nil, fmt.Errorf("version %q is not a canonical semantic version such as v0.1.0", version)
	}
	if m := semver.Major(version); m != "v0" && m != "v1" {
		return nil, fmt.Errorf("version %s: major %s needs /%s module paths", version, m, m)
	}
	if dirty, err := git(root, "status", "--porcelain"); err != nil {
		return nil, err
	} else if dirty != "" {
		return nil, fmt.Errorf("the working tree is not clean; commit or stash first:\n%s", dirty)
	}
	mods, err := modproxy.Modules(root)
	if err != nil {
		return nil, err
	}
	if err := checkWorkspace(root, mods); err != nil {
		return nil, err
	}
	var problems []string
	for _, m := range mods {
		problems = append(problems, checkModule(root, m, version)...)
	}
	var tags []string
	for _, m := range mods {
		t := m.Tag(version)
		if out, _ := git(root, "tag", "--list", t); out != "" {
			problems = append(problems, "tag "+t+" exists already")
		}
		tags = append(tags, t)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	if !tag {
		return tags, nil
	}
	for _, t := range tags {
		if _, err := git(root, "tag", "-a", t, "-m", "Atrion "+t); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// checkWorkspace reports a go.mod in the tree that go.work does not use:
// it would be left untagged.
func checkWorkspace(root string, mods []modproxy.Module) error {
	out, err := git(root, "ls-files")
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, m := range mods {
		used[m.Dir] = true
	}
	for _, f := range strings.Split(out, "\n") {
		if filepath.Base(f) != "go.mod" {
			continue
		}
		if dir := filepath.ToSlash(filepath.Dir(f)); !used[dir] {
			return fmt.Errorf("%s is not in go.work: it would not be tagged", f)
		}
	}
	return nil
}

// checkModule reports a requirement on a sibling at another version than
// the release's, and one without a relative replace (GOWORK=off builds).
func checkModule(root string, m modproxy.Module, version string) []string {
	name := filepath.Join(m.Dir, "go.mod")
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return []string{err.Error()}
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return []string{err.Error()}
	}
	if err := module.CheckPath(f.Module.Mod.Path); err != nil || f.Module.Mod.Path != prefix+m.Dir {
		return []string{fmt.Sprintf("%s: module %s, want %s%s", name, f.Module.Mod.Path, prefix, m.Dir)}
	}
	replaced := map[string]bool{}
	for _, r := range f.Replace {
		replaced[r.Old.Path] = modfile.IsDirectoryPath(r.New.Path)
	}
	var problems []string
	for _, r := range f.Require {
		if !strings.HasPrefix(r.Mod.Path, prefix) {
			continue
		}
		if r.Mod.Version != version {
			problems = append(problems, fmt.Sprintf("%s: requires %s %s, want %s", name, r.Mod.Path, r.Mod.Version, version))
		}
		if !replaced[r.Mod.Path] {
			problems = append(problems, fmt.Sprintf("%s: no relative replace for %s (GOWORK=off builds need one)", name, r.Mod.Path))
		}
	}
	return problems
}

// git runs git in root and returns its trimmed output.
func git(root string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
