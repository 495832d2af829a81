package atrdash

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/observability/dashboard/oidctest"
)

// The test issuer's people: an operator, a viewer, and one in no group
// the dashboard names.
var (
	ada   = oidctest.User{Subject: "ada-1", Email: "ada@example.com", Name: "Ada", Claims: map[string]any{"groups": []string{"staff", "atrion-operators"}}}
	bob   = oidctest.User{Subject: "bob-2", Email: "bob@example.com", Name: "Bob", Claims: map[string]any{"groups": []string{"staff"}}}
	carol = oidctest.User{Subject: "carol-3", Email: "carol@example.com", Name: "Carol", Claims: map[string]any{"groups": []string{"contractors"}}}
)

// ssoRig is a dashboard with single sign-on against a test issuer, both
// on loopback, the dashboard mounted at /atrion/.
type ssoRig struct {
	iss  *oidctest.Issuer
	oidc *OIDC
	a    *atrion.Atrion
	clk  *atrion.ManualClock
	sink *atriontest.AuditLog
	base string // the dashboard's URL, ending in /atrion/
}

func newSSORig(t *testing.T, edit func(*OIDCConfig), opts ...Option) *ssoRig {
	t.Helper()
	r := &ssoRig{iss: oidctest.NewIssuer(t), sink: &atriontest.AuditLog{}}
	r.a, r.clk = newEngine(t, atrion.WithAudit(r.sink))
	traffic(r.a, r.clk, "GET /x", 3, atrion.Success)
	site := oidctest.NewSite(t, "127.0.0.1", "/atrion")
	r.base = site.URL
	r.iss.AddClient("atrion-dash", "client-secret", r.base+"callback")
	for _, u := range []oidctest.User{ada, bob, carol} {
		r.iss.AddUser(u)
	}
	cfg := OIDCConfig{
		Issuer: r.iss.URL, ClientID: "atrion-dash", ClientSecret: "client-secret", RedirectURL: r.base + "callback",
		Roles: Roles{Claim: "groups", Operators: []string{"atrion-operators"}, Viewers: []string{"staff"}},
	}
	if edit != nil {
		edit(&cfg)
	}
	var err error
	if r.oidc, err = NewOIDC(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	d := New(r.a, append([]Option{WithOIDC(r.oidc)}, opts...)...)
	t.Cleanup(d.Close)
	site.Serve(d)
	return r
}

// browser returns a client that keeps cookies and follows redirects, as
// a browser does.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn signs c in as user through the issuer's login page and returns
// the last answer of the redirects: the page on success, the callback's
// refusal otherwise.
func (r *ssoRig) signIn(t *testing.T, c *http.Client, user string) *http.Response {
	t.Helper()
	res, err := c.Get(r.base + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.String(), r.iss.URL+"/authorize") {
		t.Fatalf("login: %d at %s: %s", res.StatusCode, res.Request.URL, page)
	}
	_, rest, _ := strings.Cut(string(page), `name="request" value="`)
	reqID, _, _ := strings.Cut(rest, `"`)
	res, err = c.PostForm(r.iss.URL+"/authorize", url.Values{"request": {reqID}, "user": {user}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	return res
}

// get returns the status of GET path (under the dashboard) from c.
func (r *ssoRig) get(t *testing.T, c *http.Client, path string) (int, []byte) {
	t.Helper()
	res, err := c.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// postJSON POSTs body to path from c, with auth as Authorization.
func (r *ssoRig) postJSON(t *testing.T, c *http.Client, path, auth, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func (r *ssoRig) whoami(t *testing.T, c *http.Client) whoami {
	t.Helper()
	code, b := r.get(t, c, "api/whoami")
	var w whoami
	if code != http.StatusOK || json.Unmarshal(b, &w) != nil {
		t.Fatalf("whoami: %d %s", code, b)
	}
	return w
}

// actors returns the actors of the control and config records so far.
func (r *ssoRig) actors(t *testing.T) []string {
	t.Helper()
	if err := r.a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range r.sink.Of("") {
		if rec.Kind == atrion.AuditControl || rec.Kind == atrion.AuditConfig {
			out = append(out, string(rec.Kind)+" "+rec.Actor)
		}
	}
	return out
}

// A real sign-in, end to end through the issuer, x/oauth2 and go-oidc:
// before it the state is refused; after it the viewer reads and is
// refused the controls, the operator uses them and the audit trail names
// her; the bearer token keeps working for automation, under the address;
// signing out ends the session; a person in no named group gets no
// session.
func TestOIDCSignInRolesAndAudit(t *testing.T) {
	r := newSSORig(t, nil, WithControls(testToken))
	anon := browser(t)
	if code, _ := r.get(t, anon, "api/state"); code != http.StatusUnauthorized {
		t.Fatalf("state before sign-in: %d, want 401", code)
	}
	if code, _ := r.get(t, anon, ""); code != http.StatusOK {
		t.Fatalf("the page (no data) before sign-in: %d, want 200", code)
	}
	if w := r.whoami(t, anon); w.SignedIn || !w.Login {
		t.Fatalf("whoami before sign-in: %+v", w)
	}

	viewer := browser(t)
	if res := r.signIn(t, viewer, bob.Subject); res.StatusCode != http.StatusOK || res.Request.URL.String() != r.base {
		t.Fatalf("bob's sign-in ended %d at %s", res.StatusCode, res.Request.URL)
	}
	if w := r.whoami(t, viewer); !w.SignedIn || w.Name != "bob@example.com" || w.Role != "viewer" || w.Via != "oidc" || !w.SignOut {
		t.Fatalf("bob's whoami: %+v", w)
	}
	if code, b := r.get(t, viewer, "api/state"); code != http.StatusOK || !strings.Contains(string(b), `"GET /x"`) {
		t.Fatalf("bob reads: %d %.100s", code, b)
	}
	if code := r.postJSON(t, viewer, "api/evict", "", `{"route":"GET /x"}`); code != http.StatusForbidden {
		t.Fatalf("bob evicts: %d, want 403", code)
	}
	if code := r.postJSON(t, viewer, "api/config", "", `{"route":"GET /x","config":{"physics":{"breakMultiplier":3}}}`); code != http.StatusForbidden {
		t.Fatalf("bob configures: %d, want 403", code)
	}
	if !slices.Contains(r.a.Routes(), "GET /x") {
		t.Fatal("a viewer evicted the route")
	}

	op := browser(t)
	if res := r.signIn(t, op, ada.Subject); res.StatusCode != http.StatusOK {
		t.Fatalf("ada's sign-in: %d", res.StatusCode)
	}
	if w := r.whoami(t, op); w.Role != "operator" {
		t.Fatalf("ada's whoami: %+v", w)
	}
	if code := r.postJSON(t, op, "api/config", "", `{"route":"GET /x","config":{"physics":{"breakMultiplier":3}}}`); code != http.StatusOK {
		t.Fatalf("ada configures: %d", code)
	}
	if code := r.postJSON(t, op, "api/evict", "", `{"route":"GET /x"}`); code != http.StatusOK {
		t.Fatalf("ada evicts: %d", code)
	}
	traffic(r.a, r.clk, "GET /x", 3, atrion.Success)
	// automation: no session, the bearer token
	if code := r.postJSON(t, anon, "api/evict", "Bearer "+testToken, `{"route":"GET /x"}`); code != http.StatusOK {
		t.Fatalf("the bearer token evicts: %d", code)
	}
	if code := r.postJSON(t, anon, "api/evict", "", `{"route":"GET /x"}`); code != http.StatusUnauthorized {
		t.Fatalf("no one evicts: %d, want 401", code)
	}
	want := []string{
		"config dashboard ada@example.com (oidc ada-1) from 127.0.0.1",
		"control dashboard ada@example.com (oidc ada-1) from 127.0.0.1",
		"control dashboard 127.0.0.1",
	}
	if got := r.actors(t); !slices.Equal(got, want) {
		t.Fatalf("audit actors:\n got %q\nwant %q", got, want)
	}

	// signing out ends the session for good
	if code := r.postJSON(t, op, "logout", "", `{}`); code != http.StatusOK {
		t.Fatalf("sign out: %d", code)
	}
	if code, _ := r.get(t, op, "api/state"); code != http.StatusUnauthorized {
		t.Fatalf("state after signing out: %d, want 401", code)
	}

	// carol signs in at the issuer, but no group of hers is named
	stranger := browser(t)
	if res := r.signIn(t, stranger, carol.Subject); res.StatusCode != http.StatusForbidden {
		t.Fatalf("carol's sign-in: %d, want 403", res.StatusCode)
	}
	if code, _ := r.get(t, stranger, "api/state"); code != http.StatusUnauthorized {
		t.Fatalf("carol reads: %d, want 401", code)
	}
	if n := r.oidc.sessionCount(); n != 1 {
		t.Fatalf("%d sessions, want bob's only", n)
	}
}

// ID tokens the dashboard must refuse, each through the real flow (the
// issuer signs what Tamper makes of the token): the callback answers 401,
// no session starts, and the state stays closed.
func TestOIDCRefusesBadIDTokens(t *testing.T) {
	r := newSSORig(t, nil)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// a token from an earlier sign-in, with that sign-in's nonce
	var earlier map[string]any
	r.iss.Tamper(func(tok *oidctest.Token) { earlier = tok.Claims })
	if res := r.signIn(t, browser(t), ada.Subject); res.StatusCode != http.StatusOK {
		t.Fatalf("the earlier sign-in: %d", res.StatusCode)
	}
	sessions := r.oidc.sessionCount()
	for _, c := range []struct {
		name   string
		tamper func(*oidctest.Token)
	}{
		{"expired", func(tok *oidctest.Token) {
			tok.Claims["iat"] = time.Now().Add(-time.Hour).Unix()
			tok.Claims["exp"] = time.Now().Add(-time.Minute).Unix()
		}},
		{"signed by another key", func(tok *oidctest.Token) { tok.Key = other }},
		{"signed by another key ID", func(tok *oidctest.Token) { tok.KeyID = "k2"; tok.Key = other }},
		{"wrong audience", func(tok *oidctest.Token) { tok.Claims["aud"] = "another-client" }},
		{"several audiences, azp not us", func(tok *oidctest.Token) {
			tok.Claims["aud"] = []string{"atrion-dash", "another-client"}
			tok.Claims["azp"] = "another-client"
		}},
		{"wrong issuer", func(tok *oidctest.Token) { tok.Claims["iss"] = "http://127.0.0.1:1" }},
		{"replayed: another sign-in's nonce", func(tok *oidctest.Token) { tok.Claims = earlier }},
		{"no nonce", func(tok *oidctest.Token) { delete(tok.Claims, "nonce") }},
		{"no subject", func(tok *oidctest.Token) { delete(tok.Claims, "sub") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r.iss.Tamper(c.tamper)
			b := browser(t)
			res := r.signIn(t, b, ada.Subject)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "ID token refused") {
				t.Fatalf("callback: %d %s, want 401 ID token refused", res.StatusCode, body)
			}
			if code, _ := r.get(t, b, "api/state"); code != http.StatusUnauthorized {
				t.Fatalf("state after a refused token: %d", code)
			}
			if n := r.oidc.sessionCount(); n != sessions {
				t.Fatalf("%d sessions, want %d", n, sessions)
			}
		})
	}
	r.iss.Tamper(nil)
	if res := r.signIn(t, browser(t), ada.Subject); res.StatusCode != http.StatusOK {
		t.Fatalf("an untampered sign-in after the refusals: %d", res.StatusCode)
	}
}

// Hostile callbacks: each refused with a clear code, none starting a
// session. A replayed callback (its state used once already) is refused
// before its code is tried; so is a sign-in finished in another browser
// than the one that started it (login CSRF).
func TestOIDCCallbackRefusesHostileInputs(t *testing.T) {
	r := newSSORig(t, nil)
	noFollow := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	// start a sign-in in browser b and stop at the issuer's redirect back:
	// the callback URL, unvisited
	start := func(t *testing.T, b *http.Client) *url.URL {
		t.Helper()
		res := r.signInUntilCallback(t, b)
		return res
	}
	callback := func(t *testing.T, b *http.Client, u string) int {
		t.Helper()
		res, err := noFollow(b).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	with := func(u *url.URL, key, value string) string {
		v := u.Query()
		if value == "" {
			v.Del(key)
		} else {
			v.Set(key, value)
		}
		c := *u
		c.RawQuery = v.Encode()
		return c.String()
	}

	t.Run("replayed callback", func(t *testing.T) {
		b := browser(t)
		u := start(t, b)
		state := u.Query().Get("state")
		if code := callback(t, b, u.String()); code != http.StatusSeeOther {
			t.Fatalf("first callback: %d, want 303", code)
		}
		// the attacker replays it, login cookie and all
		b2 := browser(t)
		b2.Jar.SetCookies(u, []*http.Cookie{{Name: loginCookie, Value: state, Path: "/atrion/"}})
		if code := callback(t, b2, u.String()); code != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d, want 400", code)
		}
	})
	t.Run("finished in another browser", func(t *testing.T) {
		u := start(t, browser(t))
		if code := callback(t, browser(t), u.String()); code != http.StatusBadRequest {
			t.Fatalf("callback without the login cookie: %d, want 400", code)
		}
	})
	sessions := r.oidc.sessionCount()
	for _, c := range []struct {
		name       string
		url        func(*url.URL) string
		wantStatus int
	}{
		{"no state", func(u *url.URL) string { return with(u, "state", "") }, 400},
		{"another state", func(u *url.URL) string { return with(u, "state", newSecret()) }, 400},
		{"oversized state", func(u *url.URL) string { return with(u, "state", strings.Repeat("s", 5000)) }, 400},
		{"missing code", func(u *url.URL) string { return with(u, "code", "") }, 400},
		{"oversized code", func(u *url.URL) string { return with(u, "code", strings.Repeat("c", 3000)) }, 400},
		{"wrong code", func(u *url.URL) string { return with(u, "code", "not-a-code") }, 401},
		{"provider's error", func(u *url.URL) string { return with(u, "error", "access_denied\r\nX-Injected: 1") }, 401},
		{"oversized query", func(u *url.URL) string { return with(u, "junk", strings.Repeat("j", maxCallbackQuery)) }, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := browser(t)
			u := start(t, b)
			if code := callback(t, b, c.url(u)); code != c.wantStatus {
				t.Fatalf("callback: %d, want %d", code, c.wantStatus)
			}
			if code, _ := r.get(t, b, "api/state"); code != http.StatusUnauthorized {
				t.Fatalf("state after a refused callback: %d", code)
			}
		})
	}
	if n := r.oidc.sessionCount(); n != sessions {
		t.Fatalf("hostile callbacks started %d sessions", n-sessions)
	}
	// a forged state in both the cookie and the query: no such sign-in
	b := browser(t)
	forged := newSecret()
	base, _ := url.Parse(r.base)
	b.Jar.SetCookies(base, []*http.Cookie{{Name: loginCookie, Value: forged, Path: "/atrion/"}})
	if code := callback(t, b, r.base+"callback?code=x&state="+forged); code != http.StatusBadRequest {
		t.Fatalf("forged state: %d, want 400", code)
	}
}

// signInUntilCallback runs a sign-in up to the issuer's redirect back and
// returns the callback URL, unvisited.
func (r *ssoRig) signInUntilCallback(t *testing.T, b *http.Client) *url.URL {
	t.Helper()
	var cb *url.URL
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/callback") {
			cb = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.CheckRedirect = nil }()
	_ = r.signIn(t, b, ada.Subject)
	if cb == nil {
		t.Fatal("the issuer never redirected to the callback")
	}
	return cb
}

// Hostile session cookies are no one: wrong length, oversized, made up,
// many; a session past its TTL is forgotten.
func TestOIDCSessionCookies(t *testing.T) {
	r := newSSORig(t, func(c *OIDCConfig) { c.SessionTTL = time.Hour })
	b := browser(t)
	if res := r.signIn(t, b, bob.Subject); res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	for _, c := range []struct {
		name    string
		cookies string
	}{
		{"made up", sessionCookie + "=" + newSecret()},
		{"short", sessionCookie + "=abc"},
		{"oversized", sessionCookie + "=" + strings.Repeat("A", 16<<10)},
		{"many", strings.Repeat(sessionCookie+"="+newSecret()+"; ", 200)},
		{"with quotes", sessionCookie + `="` + newSecret() + `"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, r.base+"api/state", nil)
		req.Header.Set("Cookie", c.cookies)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.name, res.StatusCode)
		}
	}
	if code, _ := r.get(t, b, "api/state"); code != http.StatusOK {
		t.Fatalf("the real session: %d", code)
	}
	later := time.Now().Add(time.Hour + time.Second)
	r.oidc.mu.Lock()
	r.oidc.now = func() time.Time { return later }
	r.oidc.mu.Unlock()
	if code, _ := r.get(t, b, "api/state"); code != http.StatusUnauthorized {
		t.Fatalf("a session past its TTL: %d, want 401", code)
	}
	if n := r.oidc.sessionCount(); n != 0 {
		t.Fatalf("the expired session is still held (%d)", n)
	}
}

// Sessions and sign-ins in progress are bounded: past MaxSessions the
// oldest session is signed out; a flood of started sign-ins keeps at
// most maxPendingLogins.
func TestOIDCBounds(t *testing.T) {
	r := newSSORig(t, func(c *OIDCConfig) { c.MaxSessions = 2 })
	var bs []*http.Client
	for range 3 {
		b := browser(t)
		if res := r.signIn(t, b, bob.Subject); res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		bs = append(bs, b)
	}
	if n := r.oidc.sessionCount(); n != 2 {
		t.Fatalf("%d sessions, want MaxSessions 2", n)
	}
	for i, want := range []int{401, 200, 200} {
		if code, _ := r.get(t, bs[i], "api/state"); code != want {
			t.Errorf("session %d: %d, want %d", i, code, want)
		}
	}
	for range maxPendingLogins + 100 {
		rec := httptest.NewRecorder()
		r.oidc.serveLogin(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("login: %d", rec.Code)
		}
	}
	r.oidc.mu.Lock()
	n := len(r.oidc.pending)
	r.oidc.mu.Unlock()
	if n != maxPendingLogins {
		t.Fatalf("%d sign-ins held, want %d", n, maxPendingLogins)
	}
}

// The cookies' attributes: both HttpOnly and scoped to the mount point;
// the sign-in's SameSite=Lax (it must ride the provider's redirect back),
// the session's SameSite=Strict; Secure over TLS only (the rig is http on
// loopback).
func TestOIDCCookieAttributes(t *testing.T) {
	r := newSSORig(t, nil)
	for _, tlsOn := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodGet, "/login", nil)
		if tlsOn {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		r.oidc.serveLogin(rec, req)
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("login set %d cookies", len(cs))
		}
		c := cs[0]
		if c.Name != loginCookie || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/atrion/" || c.Secure != tlsOn || c.MaxAge != int(LoginTTL.Seconds()) {
			t.Errorf("TLS %v: login cookie %+v", tlsOn, c)
		}
	}
	// the session cookie, from a real callback
	b := browser(t)
	var set []*http.Cookie
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil && strings.HasSuffix(req.Response.Request.URL.Path, "/callback") {
			set = req.Response.Cookies()
		}
		return nil
	}
	if res := r.signIn(t, b, bob.Subject); res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	var session *http.Cookie
	for _, c := range set {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/atrion/" || session.Secure || len(session.Value) != secretLen {
		t.Fatalf("session cookie %+v (of %v)", session, set)
	}
}

// NewOIDC refuses what would leave sign-in broken or unsafe.
func TestNewOIDCRefusesBadConfig(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	good := OIDCConfig{Issuer: iss.URL, ClientID: "c", RedirectURL: "http://127.0.0.1:8080/atrion/callback",
		Roles: Roles{Claim: "groups", Operators: []string{"ops"}}}
	if _, err := NewOIDC(context.Background(), good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*OIDCConfig)
	}{
		{"no issuer", func(c *OIDCConfig) { c.Issuer = "" }},
		{"unreachable issuer", func(c *OIDCConfig) { c.Issuer = "http://127.0.0.1:1" }},
		{"issuer mismatch", func(c *OIDCConfig) { c.Issuer = iss.URL + "/" }},
		{"no client", func(c *OIDCConfig) { c.ClientID = "" }},
		{"no claim", func(c *OIDCConfig) { c.Roles.Claim = "" }},
		{"no roles", func(c *OIDCConfig) { c.Roles = Roles{Claim: "groups"} }},
		{"http off loopback", func(c *OIDCConfig) { c.RedirectURL = "http://ops.example.com/atrion/callback" }},
		{"relative redirect", func(c *OIDCConfig) { c.RedirectURL = "/atrion/callback" }},
		{"not the callback", func(c *OIDCConfig) { c.RedirectURL = "https://ops.example.com/atrion/" }},
		{"query in redirect", func(c *OIDCConfig) { c.RedirectURL = "https://ops.example.com/atrion/callback?x=1" }},
	} {
		cfg := good
		c.edit(&cfg)
		if _, err := NewOIDC(context.Background(), cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// Roles from a claim: a list or a string, by name or dotted path; an
// operator is a viewer too; "*" makes every signed-in person a viewer.
func TestRolesFromClaims(t *testing.T) {
	claims := map[string]any{
		"groups":                    []any{"a", "ops", 3},
		"role":                      "viewer",
		"realm_access":              map[string]any{"roles": []any{"admin"}},
		"https://example.com/roles": []any{"x"},
		"n":                         42.0,
	}
	rs := Roles{Operators: []string{"ops", "admin"}, Viewers: []string{"viewer", "x"}}
	for _, c := range []struct {
		claim string
		want  role
	}{
		{"groups", roleOperator}, {"role", roleViewer}, {"realm_access.roles", roleOperator},
		{"https://example.com/roles", roleViewer}, {"n", roleNone}, {"missing", roleNone}, {"role.x", roleNone},
	} {
		if got := rs.of(claimValues(claims, c.claim)); got != c.want {
			t.Errorf("claim %q: %v, want %v", c.claim, got, c.want)
		}
	}
	if got := (Roles{Viewers: []string{"*"}}).of(nil); got != roleViewer {
		t.Errorf(`"*": %v, want viewer`, got)
	}
	if got := clean("ada\r\n\u202eevil\x00" + strings.Repeat("é", 300)); strings.ContainsAny(got, "\r\n\u202e\x00") || len(got) > maxNameLen {
		t.Errorf("clean left %q", got)
	}
}

// FuzzCallback feeds the callback arbitrary queries: each is refused
// with a JSON answer, never a session.
func FuzzCallback(f *testing.F) {
	for _, s := range []string{"", "state=x&code=y", "error=access_denied", "state=" + strings.Repeat("a", 43), "%zz", "code=&state=&state="} {
		f.Add(s)
	}
	iss := oidctest.NewIssuer(f)
	o, err := NewOIDC(context.Background(), OIDCConfig{Issuer: iss.URL, ClientID: "c", RedirectURL: "http://127.0.0.1:1/callback",
		Roles: Roles{Claim: "groups", Viewers: []string{"*"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/callback", nil)
		req.URL.RawQuery = query
		req.Header.Set("Cookie", loginCookie+"="+strings.Repeat("a", 43))
		rec := httptest.NewRecorder()
		o.serveCallback(rec, req)
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusUnauthorized {
			t.Fatalf("query %q: %d", query, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) || o.sessionCount() != 0 {
			t.Fatalf("query %q: answer %q, %d sessions", query, rec.Body, o.sessionCount())
		}
	})
}
