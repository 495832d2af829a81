// Package modproxy builds a file-based Go module proxy from the
// repository's working tree: every module of go.work at one version,
// zipped with golang.org/x/mod/zip as the real proxy would zip its tag,
// laid out as GOPROXY=file://DIR expects (DIR/<module>/@v/list,
// <version>.info, .mod and .zip). The consumer test installs the modules
// from it with go get, outside the workspace and without the network.
package modproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

// Module is one module of the workspace.
type Module struct {
	Path string // module path, e.g. github.com/atrion-go/atrion/core
	Dir  string // relative to the repository root, e.g. core
}

// Tag is the module's release tag for version: its directory, a slash,
// the version (core/v0.1.0), as the go command looks tags up for a module
// in a subdirectory.
func (m Module) Tag(version string) string { return m.Dir + "/" + version }

// Modules lists the modules that root's go.work uses, in its order.
func Modules(root string) ([]Module, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	var mods []Module
	for _, u := range wf.Use {
		dir := path.Clean(filepath.ToSlash(u.Path))
		gomod, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		p := modfile.ModulePath(gomod)
		if p == "" {
			return nil, fmt.Errorf("%s/go.mod: no module path", dir)
		}
		mods = append(mods, Module{Path: p, Dir: dir})
	}
	return mods, nil
}

// Build writes every module of root's workspace at version into dir as a
// file proxy, and returns each module's h1: hash (what go.sum records for
// its zip), by module path. A module's files are those git tracks in its
// directory, and those it would track (not ignored), as they are in the
// working tree, without nested modules: what a tag of this tree would
// hold.
func Build(root, version, dir string) (map[string]string, error) {
	mods, err := Modules(root)
	if err != nil {
		return nil, err
	}
	sums := make(map[string]string, len(mods))
	for _, m := range mods {
		h, err := write(root, m, version, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Dir, err)
		}
		sums[m.Path] = h
	}
	return sums, nil
}

// write adds one module to the proxy in dir and returns its zip's hash.
func write(root string, m Module, version, dir string) (string, error) {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return "", err
	}
	vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return "", err
	}
	files, err := gitFiles(root, m.Dir)
	if err != nil {
		return "", err
	}
	var z bytes.Buffer
	if err := zip.Create(&z, module.Version{Path: m.Path, Version: version}, files); err != nil {
		return "", err
	}
	zipPath := filepath.Join(vdir, version+".zip")
	if err := os.WriteFile(zipPath, z.Bytes(), 0o644); err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(root, m.Dir, "go.mod"))
	if err != nil {
		return "", err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	for name, data := range map[string][]byte{
		version + ".mod":  gomod,
		version + ".info": info,
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	return dirhash.HashZip(zipPath, dirhash.Hash1)
}

// gitFiles lists the files of the module in root/dir, relative to it.
func gitFiles(root, dir string) ([]zip.File, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", dir)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var files []zip.File
	for _, name := range strings.Split(string(out), "\x00") {
		if name == "" {
			continue
		}
		full := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Lstat(full)
		if os.IsNotExist(err) { // tracked, deleted in the working tree
			continue
		}
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(name, dir+"/")
		files = append(files, file{rel: rel, full: full, info: fi})
	}
	return files, nil
}

// file is a working-tree file for zip.Create.
type file struct {
	rel, full string
	info      os.FileInfo
}

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (os.FileInfo, error)  { return f.info, nil }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.full) }
