//go:build unix

package sink_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
)

// lines reads path's lines; each must parse as a record.
func auditLines(t *testing.T, path string) []atrion.AuditRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []atrion.AuditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r atrion.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: a line that does not parse (%v): %q", filepath.Base(path), err, sc.Text())
		}
		out = append(out, r)
	}
	return out
}

func record(action string) atrion.AuditRecord {
	return atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "test", Action: action}
}

func actions(rs []atrion.AuditRecord) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Action)
	}
	return strings.Join(s, ",")
}

// After logrotate renames the file, or someone removes it, the next
// record goes to a new file at the path, not to the old inode (where it
// went before, with no error counted).
func TestAuditFileFollowsRenameAndRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	fa, err := sink.AuditFile(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fa.Audit(record("a"))
	if err := os.Rename(path, path+".rotated"); err != nil {
		t.Fatal(err)
	}
	fa.Audit(record("b"))
	fa.Audit(record("c"))
	if got := actions(auditLines(t, path+".rotated")); got != "a" {
		t.Fatalf("the renamed file holds %q, want a", got)
	}
	if got := actions(auditLines(t, path)); got != "b,c" {
		t.Fatalf("the new file holds %q, want b,c", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	fa.Audit(record("d"))
	if got := actions(auditLines(t, path)); got != "d" {
		t.Fatalf("after a removal the file holds %q, want d", got)
	}
	if n, err := fa.Errors(); n != 0 || fa.Reopens() != 2 {
		t.Fatalf("%d errors (%v), %d reopens: want 0 and 2", n, err, fa.Reopens())
	}
}

// Reopen, on SIGHUP from a rotator, makes the new file at once.
func TestAuditFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	fa, err := sink.AuditFile(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa.Audit(record("a"))
	os.Rename(path, path+".1")
	if err := fa.Reopen(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("after Reopen: %v, %v: want a new empty file", fi, err)
	}
	fa.Audit(record("b"))
	if got := actions(auditLines(t, path)); got != "b" {
		t.Fatalf("new file %q", got)
	}
	fa.Close()
	if err := fa.Reopen(); err != nil {
		t.Fatal(err)
	}
	fa.Audit(record("after close"))
	if n, _ := fa.Errors(); n != 1 {
		t.Fatalf("a record after Close: %d errors, want 1", n)
	}
	// a path that cannot be opened: the error, and nothing written
	bad, err := sink.AuditFile(filepath.Join(dir, "sub", "audit.jsonl"), 0, 0)
	if err == nil {
		bad.Close()
		t.Fatal("AuditFile in a missing directory")
	}
}

// A write that fails part-way (the file size limit here, as a full disk
// would) leaves no torn line: the part is cut back off, the record is
// counted as not written, and the next record is a line of its own.
func TestAuditFileNoTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fa, err := sink.AuditFile(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fa.Audit(record("a"))
	fi, _ := os.Stat(path)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("no file size limit here: %v", err)
	}
	limit := old
	limit.Cur = uint64(fi.Size()) + 20 // room for 20 bytes of the next record
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Skipf("cannot set the file size limit: %v", err)
	}
	fa.Audit(record(strings.Repeat("x", 200)))
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	fa.Audit(record("c"))
	if got := actions(auditLines(t, path)); got != "a,c" {
		t.Fatalf("the file holds %q, want a,c", got)
	}
	if n, err := fa.Errors(); n != 1 || err == nil {
		t.Fatalf("%d errors (%v), want the one record not written", n, err)
	}
}
