package atrdash

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// postConfig sends body to d's /api/config with the test token, in
// process, and returns the status and the answer.
func postConfig(d *Dashboard, body string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/api/config", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// The config control configures only routes the engine knows, and at most
// MaxConfiguredRoutes of them: 3,000 invented names leave the
// configuration as it was (they were all kept, and each update slowed,
// before).
func TestConfigControlRefusesUnknownRoutes(t *testing.T) {
	var sink atriontest.AuditLog
	a, clk := newEngine(t, atrion.WithAudit(&sink))
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a, WithControls(testToken))
	defer d.Close()
	for i := range 3000 {
		if code, body := postConfig(d, fmt.Sprintf(`{"route":"GET /never/%d","config":{"physics":{"breakMultiplier":3}}}`, i)); code != http.StatusNotFound {
			t.Fatalf("invented route %d: %d %s, want 404", i, code, body)
		}
	}
	if n := len(a.ConfiguredRoutes()); n != 0 {
		t.Fatalf("%d invented routes configured", n)
	}
	// a reserved route, and a tracked one, may be configured
	if err := a.Reserve("GET /reserved"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"GET /x", "GET /reserved"} {
		if code, body := postConfig(d, `{"route":"`+r+`","config":{"physics":{"breakMultiplier":3}}}`); code != http.StatusOK {
			t.Fatalf("%s: %d %s", r, code, body)
		}
	}
	// the bound: reserved routes up to it take an override, the next is refused
	var ids []string
	for i := range MaxConfiguredRoutes {
		ids = append(ids, fmt.Sprintf("GET /r/%d", i))
	}
	if err := a.Reserve(ids...); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, id := range ids {
		switch code, body := postConfig(d, `{"route":"`+id+`","config":{"slo":{"targetErrorRate":0.05}}}`); code {
		case http.StatusOK:
		case http.StatusConflict:
			refused++
		default:
			t.Fatalf("%s: %d %s", id, code, body)
		}
	}
	if n := len(a.ConfiguredRoutes()); n != MaxConfiguredRoutes || refused != 2 {
		t.Fatalf("%d overrides, %d refused: want %d and 2", n, refused, MaxConfiguredRoutes)
	}
	// an existing override may still change, or go: {} removes it and frees a place
	if code, _ := postConfig(d, `{"route":"GET /x","config":{"physics":{"breakMultiplier":4}}}`); code != http.StatusOK {
		t.Fatalf("changing an existing override at the bound: %d", code)
	}
	if code, _ := postConfig(d, `{"route":"GET /x","config":{}}`); code != http.StatusOK || a.Knows("GET /nothing") {
		t.Fatalf("removing an override: %d", code)
	}
	if code, _ := postConfig(d, `{"route":"GET /r/255","config":{"physics":{"breakMultiplier":4}}}`); code != http.StatusOK {
		t.Fatalf("after one was removed, a new override: %d", code)
	}
	// every audit record is the change alone: small, whatever the number of overrides
	a.Flush(context.Background())
	for _, r := range sink.Of(atrion.AuditConfig) {
		if len(r.From)+len(r.To) > 1024 {
			t.Fatalf("a config record of %d bytes: %.200s", len(r.From)+len(r.To), r.To)
		}
	}
}

// Keys the decoder would match case-insensitively, in the body or in the
// config, are refused with the field named.
func TestConfigControlRefusesMiscasedKeys(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a, WithControls(testToken))
	defer d.Close()
	for _, c := range []struct{ body, want string }{
		{`{"ROUTE":"GET /x","config":{}}`, `unknown field \"ROUTE\"`},
		{`{"route":"GET /x","Config":{}}`, `unknown field \"Config\"`},
		{`{"route":"GET /x","config":{"PHYSICS":{"breakMultiplier":3}}}`, "PHYSICS: unknown"},
		{`{"route":"GET /x","config":{"physics":{"breakMultiplier":3},"physics":{}}}`, "physics: given twice"},
		{`{"route":"GET /x"}`, `no \"config\"`},
		{`{"route":7,"config":{}}`, "route must be a string"},
		{`null`, "route must be a string"},
	} {
		if code, body := postConfig(d, c.body); code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, code, body, c.want)
		}
	}
	if n := len(a.ConfiguredRoutes()); n != 0 {
		t.Fatalf("%d overrides after refused requests", n)
	}
}
