package atrdash

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

const testToken = "s3cret-token-0123456789"

func TestControlsOffByDefault(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a)
	srv := serve(t, d)
	if d.ControlsEnabled() {
		t.Fatal("controls on by default")
	}
	res := post(t, srv.URL+"/api/evict", "Bearer "+testToken, "application/json", `{"route":"GET /x"}`, nil)
	if res.StatusCode == http.StatusOK || !slices.Contains(a.Routes(), "GET /x") {
		t.Errorf("evict without WithControls: %d, routes %v", res.StatusCode, a.Routes())
	}
	if short := New(a, WithControls("short")); short.ControlsEnabled() {
		t.Error("a short token turned the controls on")
	}
}

func TestEvictControlGuards(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /x", 3, atrion.Success)
	srv := serve(t, New(a, WithControls(testToken)))
	url := srv.URL + "/api/evict"
	good, ctype, body := "Bearer "+testToken, "application/json", `{"route":"GET /x"}`
	cases := []struct {
		name              string
		auth, ctype, body string
		hdr               map[string]string
		code              int
	}{
		{"bad token", "Bearer wrong-token-0123456789", ctype, body, nil, 401},
		{"token prefix", "Bearer " + testToken[:10], ctype, body, nil, 401},
		{"no token", "", ctype, body, nil, 401},
		{"basic auth", "Basic " + testToken, ctype, body, nil, 401},
		{"cross site", good, ctype, body, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"foreign origin", good, ctype, body, map[string]string{"Origin": "http://evil.example"}, 403},
		{"form body", good, "application/x-www-form-urlencoded", "route=GET+/x", nil, 415},
		{"no content type", good, "", body, nil, 415},
		{"bad json", good, ctype, `{"route":`, nil, 400},
		{"unknown field", good, ctype, `{"route":"GET /x","all":true}`, nil, 400},
		{"empty route", good, ctype, `{"route":""}`, nil, 400},
		{"huge route", good, ctype, `{"route":"` + strings.Repeat("a", 2000) + `"}`, nil, 400},
		{"huge body", good, ctype, `{"route":"` + strings.Repeat("a", 10000) + `"}`, nil, 400},
		{"unknown route", good, ctype, `{"route":"GET /nope"}`, nil, 404},
		{"overflow route", good, ctype, `{"route":"` + atrion.OverflowRoute + `"}`, nil, 404},
	}
	for _, c := range cases {
		res := post(t, url, c.auth, c.ctype, c.body, c.hdr)
		if res.StatusCode != c.code {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.code)
		}
	}
	if !slices.Contains(a.Routes(), "GET /x") {
		t.Fatal("a refused request evicted the route")
	}

	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET on control: %d Allow %q, want 405 POST", res.StatusCode, res.Header.Get("Allow"))
	}

	// same origin, as the page sends it
	res = post(t, url, good, ctype, body, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL})
	if res.StatusCode != http.StatusOK || slices.Contains(a.Routes(), "GET /x") {
		t.Errorf("good request: %d, routes %v", res.StatusCode, a.Routes())
	}
}

func post(t *testing.T, url, auth, ctype, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// FuzzEvictBody feeds the control arbitrary bodies: each gets a clear
// answer, never a panic, and only a well-formed one evicts.
func FuzzEvictBody(f *testing.F) {
	for _, s := range []string{`{"route":"GET /x"}`, `{"route":""}`, `{`, `[]`, `{"route":1}`, `null`, "\x00"} {
		f.Add(s)
	}
	a, clk := newEngine(f)
	d := New(a, WithControls(testToken))
	f.Fuzz(func(t *testing.T, body string) {
		traffic(a, clk, "GET /x", 1, atrion.Success)
		req := httptest.NewRequest(http.MethodPost, "/api/evict", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("body %q: status %d", body, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: answer %q is not JSON", body, rec.Body.String())
		}
	})
}

// The config control changes a route's configuration through the same
// guards as evict; a bad value changes nothing and names the field; every
// change and every evict is in the audit trail with the operator's
// address.
func TestConfigControl(t *testing.T) {
	var sink atriontest.AuditLog
	a, clk := newEngine(t, atrion.WithAudit(&sink))
	traffic(a, clk, "GET /x", 3, atrion.Success)
	srv := serve(t, New(a, WithControls(testToken)))
	url := srv.URL + "/api/config"
	good, ctype := "Bearer "+testToken, "application/json"
	breakPoint := func() float64 {
		traffic(a, clk, "GET /x", 3, atrion.Success)
		s, _ := a.Snapshot("GET /x")
		return s.BreakPoint
	}
	before := breakPoint()
	for _, c := range []struct {
		name, auth, body string
		hdr              map[string]string
		code             int
	}{
		{"no token", "", `{"route":"GET /x","config":{"physics":{"breakMultiplier":3}}}`, nil, 401},
		{"cross site", good, `{"route":"GET /x","config":{"physics":{"breakMultiplier":3}}}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"bad value", good, `{"route":"GET /x","config":{"physics":{"decayRate":-1}}}`, nil, 400},
		{"unknown field", good, `{"route":"GET /x","config":{"physics":{"decay":1}}}`, nil, 400},
		{"no route", good, `{"config":{}}`, nil, 400},
		{"not an object", good, `{"route":"GET /x","config":[1]}`, nil, 400},
	} {
		if res := post(t, url, c.auth, ctype, c.body, c.hdr); res.StatusCode != c.code {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.code)
		}
	}
	if bp := breakPoint(); bp != before {
		t.Fatalf("a refused request changed the break point %v → %v", before, bp)
	}
	if res := post(t, url, good, ctype, `{"route":"GET /x","config":{"physics":{"breakMultiplier":3,"bootstrapTicks":-1}}}`, nil); res.StatusCode != 200 {
		t.Fatalf("good request: %d", res.StatusCode)
	}
	if bp := breakPoint(); bp != 30 {
		t.Fatalf("after the config control: break %v, want 30", bp)
	}
	post(t, srv.URL+"/api/evict", good, ctype, `{"route":"GET /x"}`, nil)
	a.Flush(context.Background())
	var kinds []string
	for _, r := range sink.Of("") {
		if r.Kind == atrion.AuditConfig || r.Kind == atrion.AuditControl {
			if !strings.HasPrefix(r.Actor, "dashboard 127.0.0.1") {
				t.Errorf("record %+v: want the operator's address as actor", r)
			}
			kinds = append(kinds, string(r.Kind)+":"+r.Action)
		}
	}
	if !slices.Equal(kinds, []string{"config:", "control:evict"}) {
		t.Fatalf("audited %v, want one config change and one evict", kinds)
	}
}
