package sink_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
)

// The file sink writes one JSON line per record and rotates by size,
// keeping the newest files.
func TestAuditFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	fa, err := sink.AuditFile(path, 2000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		fa.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "t", Action: fmt.Sprintf("a%03d", i)})
	}
	if err := fa.Close(); err != nil {
		t.Fatal(err)
	}
	fa.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "late"})
	if n, err := fa.Errors(); n != 1 || err == nil {
		t.Fatalf("a record after Close: %d errors (%v), want 1", n, err)
	}
	var actions []string
	for _, p := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 2000 {
			t.Errorf("%s: %d bytes, over the 2000 cap", p, len(b))
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var r atrion.AuditRecord
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%s: %q: %v", p, line, err)
			}
			actions = append(actions, r.Action)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("kept more than 2 rotated files")
	}
	// the newest records survive, in order
	if last := actions[len(actions)-1]; last != "a099" || len(actions) < 20 {
		t.Fatalf("kept %d records ending %q", len(actions), last)
	}
	for i := 1; i < len(actions); i++ {
		if actions[i] <= actions[i-1] {
			t.Fatalf("records out of order: %q then %q", actions[i-1], actions[i])
		}
	}
	if _, err := sink.AuditFile("", 0, 0); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := sink.AuditFile(filepath.Join(t.TempDir(), "no", "such", "dir", "a.log"), 0, 0); err == nil {
		t.Error("unwritable path accepted")
	}
}

// A process killed in the middle of writing its audit trail leaves a file
// whose every complete line is a record.
func TestAuditFileSurvivesKill(t *testing.T) {
	if os.Getenv("ATRION_AUDIT_CHILD") != "" {
		fa, err := sink.AuditFile(os.Getenv("ATRION_AUDIT_CHILD"), 1<<30, 1)
		if err != nil {
			os.Exit(3)
		}
		for i := 0; i < 10_000_000; i++ { // killed long before the end
			fa.Audit(atrion.AuditRecord{Kind: atrion.AuditTransition, Route: "GET /r", Actor: "engine",
				From: "OPERATIONAL", To: "CIRCUIT_OPEN", Resistance: float64(i), Detail: strings.Repeat("x", i%300)})
		}
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditFileSurvivesKill$")
	cmd.Env = append(os.Environ(), "ATRION_AUDIT_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 256<<10 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	n := 0
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			break // the unfinished last line, if any
		}
		var r atrion.AuditRecord
		if err := json.Unmarshal(line, &r); err != nil || r.Resistance != float64(n) {
			t.Fatalf("record %d: %q: %v", n, line, err)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d records before the kill", n)
	}
	t.Logf("%d complete records before SIGKILL", n)
}
