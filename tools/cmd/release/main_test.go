package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// clone makes a throwaway clone of the repository's committed tree, so
// that no tag is ever created in the repository itself.
func clone(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "repo")
	gitIn(t, root, "clone", "--quiet", "--no-hardlinks", root, dir)
	gitIn(t, dir, "config", "user.email", "release-test@example.com")
	gitIn(t, dir, "config", "user.name", "release test")
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// make release tags every module of go.work with its path prefix, in the
// clone only.
func TestMakeReleaseTagsEveryModule(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not on PATH")
	}
	dir := clone(t)
	cmd := exec.Command("make", "--no-print-directory", "release", "VERSION=v0.1.0", "RELEASE_CHECKS=")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	tags := strings.Fields(gitIn(t, dir, "tag", "--list"))
	want := map[string]bool{"core/v0.1.0": true, "adapters/gin/v0.1.0": true, "adapters/grpc/v0.1.0": true,
		"adapters/internal/v0.1.0": true, "providers/redis/v0.1.0": true, "observability/prometheus/v0.1.0": true,
		"adapters/echov5/v0.1.0": true, "adapters/fiberv3/v0.1.0": true}
	for _, tg := range tags {
		delete(want, tg)
		if !strings.HasSuffix(tg, "/v0.1.0") {
			t.Errorf("tag %q", tg)
		}
		// each tag points at a tree holding its module's go.mod
		if _, err := git(dir, "cat-file", "-e", tg+":"+strings.TrimSuffix(tg, "/v0.1.0")+"/go.mod"); err != nil {
			t.Errorf("tag %s: no go.mod at its path: %v", tg, err)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing tags %v; got %q", want, tags)
	}
	mods := strings.Count(string(mustRead(t, filepath.Join(dir, "go.work"))), "\t./")
	if len(tags) != mods {
		t.Errorf("%d tags for %d modules of go.work", len(tags), mods)
	}
	if !strings.Contains(string(out), "local only") {
		t.Errorf("make release does not say the tags are local:\n%s", out)
	}
	// a second release at the same version is refused
	if _, err := release(dir, "v0.1.0", false); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("releasing v0.1.0 twice: %v", err)
	}
}

// The release refuses a dirty tree, a bad version and a module that
// requires a sibling at another version; it tags nothing then.
func TestReleaseRefuses(t *testing.T) {
	dir := clone(t)
	for _, v := range []string{"0.1.0", "v0.1", "v2.0.0", "v0.1.0+build"} {
		if _, err := release(dir, v, true); err == nil {
			t.Errorf("version %q accepted", v)
		}
	}
	gomod := filepath.Join(dir, "adapters", "gin", "go.mod")
	data := mustRead(t, gomod)
	if err := os.WriteFile(gomod, []byte(strings.Replace(string(data), "core v0.1.0", "core v0.0.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := release(dir, "v0.1.0", true); err == nil || !strings.Contains(err.Error(), "not clean") {
		t.Errorf("dirty tree: %v", err)
	}
	gitIn(t, dir, "commit", "--quiet", "-am", "gin requires core v0.0.0")
	if _, err := release(dir, "v0.1.0", true); err == nil || !strings.Contains(err.Error(), "requires github.com/atrion-go/atrion/core v0.0.0") {
		t.Errorf("a stale requirement: %v", err)
	}
	if tags := gitIn(t, dir, "tag", "--list"); tags != "" {
		t.Errorf("a refused release tagged %q", tags)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
