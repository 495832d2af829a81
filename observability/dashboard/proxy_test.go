package atrdash

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

var proxyRoles = Roles{Operators: []string{"atrion-operators"}, Viewers: []string{"staff"}}

// proxyHeaders are what oauth2-proxy sends for a person.
func proxyHeaders(user, email, groups string) map[string]string {
	return map[string]string{"X-Forwarded-User": user, "X-Forwarded-Email": email, "X-Forwarded-Groups": groups}
}

// getWith returns the status of GET url with hdr.
func getWith(t *testing.T, url string, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Identity from a trusted proxy, on a real loopback server: the proxy's
// headers make viewers and operators, the audit trail names the person,
// a person in no named group is refused, a request from the proxy with no
// user is no one, and the bearer token keeps working.
func TestTrustedProxyIdentity(t *testing.T) {
	var sink atriontest.AuditLog
	a, clk := newEngine(t, atrion.WithAudit(&sink))
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a, WithControls(testToken), WithClientLimits(2, 100), WithTrustedProxy(ProxyConfig{
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Roles: proxyRoles,
	}))
	srv := serve(t, d)
	ada := proxyHeaders("ada", "ada@example.com", "staff, atrion-operators")
	bob := proxyHeaders("bob", "bob@example.com", "staff")
	carol := proxyHeaders("carol", "", "contractors")
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"operator", ada, 200}, {"viewer", bob, 200}, {"no named group", carol, 403},
		{"no user", proxyHeaders("", "x@example.com", "atrion-operators"), 401}, {"no headers", nil, 401},
	} {
		if code := getWith(t, srv.URL+"/api/state", c.hdr); code != c.want {
			t.Errorf("%s reads: %d, want %d", c.name, code, c.want)
		}
	}
	evict := `{"route":"GET /x"}`
	if res := post(t, srv.URL+"/api/evict", "", "application/json", evict, bob); res.StatusCode != http.StatusForbidden {
		t.Fatalf("the viewer evicts: %d, want 403", res.StatusCode)
	}
	if res := post(t, srv.URL+"/api/evict", "", "application/json", evict, carol); res.StatusCode != http.StatusForbidden {
		t.Fatalf("no role evicts: %d, want 403", res.StatusCode)
	}
	if !slices.Contains(a.Routes(), "GET /x") {
		t.Fatal("a refused request evicted the route")
	}
	if res := post(t, srv.URL+"/api/evict", "", "application/json", evict, ada); res.StatusCode != http.StatusOK {
		t.Fatalf("the operator evicts: %d", res.StatusCode)
	}
	traffic(a, clk, "GET /x", 3, atrion.Success)
	if res := post(t, srv.URL+"/api/evict", "Bearer "+testToken, "application/json", evict, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the bearer token evicts: %d", res.StatusCode)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, r := range sink.Of(atrion.AuditControl) {
		actors = append(actors, r.Actor)
	}
	want := []string{"dashboard ada@example.com (proxy ada) from 127.0.0.1", "dashboard 127.0.0.1"}
	if !slices.Equal(actors, want) {
		t.Fatalf("audit actors %q, want %q", actors, want)
	}
}

// From an address that is not the proxy's, the headers are ignored: an
// operator's headers read nothing and use no control.
func TestUntrustedProxyHeadersIgnored(t *testing.T) {
	a, clk := newEngine(t)
	traffic(a, clk, "GET /x", 3, atrion.Success)
	d := New(a, WithTrustedProxy(ProxyConfig{
		Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}, Roles: proxyRoles,
	}))
	if !d.ControlsEnabled() {
		t.Fatal("controls off with operators named")
	}
	srv := serve(t, d)
	ada := proxyHeaders("ada", "ada@example.com", "atrion-operators")
	if code := getWith(t, srv.URL+"/api/state", ada); code != http.StatusUnauthorized {
		t.Fatalf("an untrusted address reads with headers: %d, want 401", code)
	}
	if res := post(t, srv.URL+"/api/evict", "", "application/json", `{"route":"GET /x"}`, ada); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an untrusted address evicts with headers: %d, want 401", res.StatusCode)
	}
	if !slices.Contains(a.Routes(), "GET /x") {
		t.Fatal("spoofed headers evicted the route")
	}

	// the address is the connection's: IPv4-mapped IPv6 counts as IPv4,
	// and a forwarded-for header changes nothing
	for _, c := range []struct {
		remote string
		hdr    map[string]string
		want   int
	}{
		{"10.1.2.3:5000", nil, 200},
		{"[::ffff:10.1.2.3]:5000", nil, 200},
		{"[::1]:5000", nil, 200},
		{"192.168.0.1:5000", nil, 401},
		{"192.168.0.1:5000", map[string]string{"X-Forwarded-For": "10.1.2.3", "X-Real-Ip": "10.1.2.3"}, 401},
		{"not an address", nil, 401},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/state", nil)
		req.RemoteAddr = c.remote
		for k, v := range ada {
			req.Header.Set(k, v)
		}
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("from %s %v: %d, want %d", c.remote, c.hdr, rec.Code, c.want)
		}
	}
}

// Malformed headers from the trusted proxy are refused (400), never
// taken as someone: repeated, oversized, control or format characters,
// invalid UTF-8.
func TestTrustedProxyRefusesMalformedHeaders(t *testing.T) {
	a, _ := newEngine(t)
	d := New(a, WithTrustedProxy(ProxyConfig{
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Roles: proxyRoles,
	}))
	for _, c := range []struct {
		name string
		set  func(h http.Header)
	}{
		{"repeated user", func(h http.Header) { h.Add("X-Forwarded-User", "ada"); h.Add("X-Forwarded-User", "root") }},
		{"repeated groups", func(h http.Header) {
			h.Add("X-Forwarded-Groups", "staff")
			h.Add("X-Forwarded-Groups", "atrion-operators")
		}},
		{"oversized user", func(h http.Header) { h.Set("X-Forwarded-User", strings.Repeat("a", maxProxyValue+1)) }},
		{"oversized email", func(h http.Header) { h.Set("X-Forwarded-Email", strings.Repeat("a", maxProxyValue+1)) }},
		{"oversized groups", func(h http.Header) { h.Set("X-Forwarded-Groups", strings.Repeat("g,", maxProxyGroups)) }},
		{"line break", func(h http.Header) { h["X-Forwarded-User"] = []string{"ada\nroot"} }},
		{"NUL", func(h http.Header) { h["X-Forwarded-User"] = []string{"ada\x00"} }},
		{"bidi override", func(h http.Header) { h.Set("X-Forwarded-User", "ada\u202e") }},
		{"invalid UTF-8", func(h http.Header) { h.Set("X-Forwarded-Email", "ada\xff@example.com") }},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/state", nil)
		req.RemoteAddr = "127.0.0.1:4000"
		req.Header.Set("X-Forwarded-User", "ada")
		req.Header.Set("X-Forwarded-Groups", "staff")
		c.set(req.Header)
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", c.name, rec.Code)
		}
	}
}

// WithTrustedProxy with no address or no role is ignored: the dashboard
// stays as it was (reading open, controls off).
func TestTrustedProxyIgnoredWhenIncomplete(t *testing.T) {
	a, _ := newEngine(t)
	for _, p := range []ProxyConfig{
		{Roles: proxyRoles},
		{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	} {
		d := New(a, WithTrustedProxy(p))
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/state", nil))
		if rec.Code != http.StatusOK || d.ControlsEnabled() {
			t.Errorf("%+v: state %d, controls %v; want it ignored", p, rec.Code, d.ControlsEnabled())
		}
	}
}
