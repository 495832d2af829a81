package atrdash

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures single sign-on with OpenID Connect: NewOIDC.
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL; its discovery document
	// is at Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the dashboard's registration at the
	// provider (a confidential client; PKCE is used as well).
	ClientID, ClientSecret string
	// RedirectURL is the dashboard's callback as the browser reaches it:
	// where the dashboard is mounted, plus "callback" (for a dashboard at
	// https://ops.example.com/atrion/, https://ops.example.com/atrion/callback).
	// It must be https, except on a loopback host. Its directory is the
	// session cookie's path.
	RedirectURL string
	// Scopes are asked for beside "openid" (default "email", "profile";
	// some providers need "groups" for a groups claim).
	Scopes []string
	// Roles names the claim and the values that make viewers and operators.
	Roles Roles
	// SessionTTL is how long a sign-in lasts (default 8 h; clamped to
	// 1 min..7 days). Roles are read at sign-in: a change at the provider
	// applies at the next one.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held (default 1,000; clamped to
	// 1..100,000); past it the oldest is signed out.
	MaxSessions int
	// HTTPClient reaches the provider (discovery, keys, token endpoint);
	// default a client with a 10 s timeout.
	HTTPClient *http.Client
}

// Defaults and bounds of single sign-on.
const (
	DefaultSessionTTL  = 8 * time.Hour
	DefaultMaxSessions = 1000
	// LoginTTL bounds the time from a sign-in's start to its callback.
	LoginTTL = 10 * time.Minute

	maxSessionsCap = 100_000
	// maxPendingLogins bounds the sign-ins started and not finished:
	// anyone may start one, so past it the oldest is forgotten
	maxPendingLogins = 1024
	// maxCallbackQuery bounds the callback's query; codes and states are
	// far shorter
	maxCallbackQuery = 8 << 10
	// idpTimeout bounds each exchange with the provider
	idpTimeout = 10 * time.Second

	sessionCookie = "atrdash_session"
	loginCookie   = "atrdash_login"
)

// OIDC is the dashboard's single sign-on with an OpenID Connect provider:
// the authorization code flow with PKCE, and sessions held in memory.
// Create it with NewOIDC and give it to one dashboard with WithOIDC.
type OIDC struct {
	cfg      OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	path     string           // the session cookie's path: RedirectURL's directory
	https    bool             // RedirectURL is https: cookies are Secure
	now      func() time.Time // time.Now; guarded by mu, since tests move it

	mu       sync.Mutex
	sessions map[[32]byte]*session      // by SHA-256 of the cookie's ID
	pending  map[[32]byte]*pendingLogin // by SHA-256 of the state
}

// session is a signed-in person, until expires.
type session struct {
	who     identity
	expires time.Time
}

// pendingLogin is a sign-in between the redirect to the provider and the
// callback: what the callback must find.
type pendingLogin struct {
	nonce, verifier string
	expires         time.Time
}

// NewOIDC reads the provider's discovery document (within ctx) and
// returns single sign-on for WithOIDC. It fails on a missing field, a
// RedirectURL that is not https (off loopback) or does not end in
// "/callback", no role named, or a provider it cannot reach.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("atrdash: OIDCConfig.Issuer is empty")
	case cfg.ClientID == "":
		return nil, errors.New("atrdash: OIDCConfig.ClientID is empty")
	case cfg.Roles.Claim == "":
		return nil, errors.New("atrdash: OIDCConfig.Roles.Claim is empty: name the claim that carries roles or groups")
	case !cfg.Roles.any():
		return nil, errors.New("atrdash: OIDCConfig.Roles names no operators and no viewers: nobody could sign in")
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || !u.IsAbs() || u.Host == "" || !strings.HasSuffix(u.Path, "/callback") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("atrdash: OIDCConfig.RedirectURL %q: want an absolute URL ending in /callback where the dashboard is mounted", cfg.RedirectURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())) {
		return nil, fmt.Errorf("atrdash: OIDCConfig.RedirectURL %q: want https (http only on a loopback host)", cfg.RedirectURL)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	cfg.SessionTTL = min(max(cfg.SessionTTL, time.Minute), 7*24*time.Hour)
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	cfg.MaxSessions = min(max(cfg.MaxSessions, 1), maxSessionsCap)
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"email", "profile"}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: idpTimeout}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("atrdash: OIDC discovery at %s: %w", cfg.Issuer, err)
	}
	return &OIDC{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(),
			Scopes:   append([]string{oidc.ScopeOpenID}, slices.DeleteFunc(slices.Clone(cfg.Scopes), func(s string) bool { return s == oidc.ScopeOpenID })...),
		},
		// go-oidc checks the signature against the provider's keys, the
		// issuer, the audience (our client ID) and the expiry; the nonce
		// and azp are checked in the callback
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:   client,
		path:     strings.TrimSuffix(u.Path, "callback"),
		https:    u.Scheme == "https",
		now:      time.Now,
		sessions: map[[32]byte]*session{},
		pending:  map[[32]byte]*pendingLogin{},
	}, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// WithOIDC turns on single sign-on with o (NewOIDC): the page offers
// "sign in", which goes through the provider and back to /callback, and a
// session cookie then carries the person. Reading needs the viewer role
// (or WithReadToken's token), and the controls, on as soon as o's roles
// name operators, the operator role (or WithControls' token, which keeps
// working for automation). Each control's audit record names the person.
// A nil o is ignored.
func WithOIDC(o *OIDC) Option { return func(c *config) { c.oidc = o } }

// register adds the sign-in endpoints to m; csrf guards signing out.
func (o *OIDC) register(m *http.ServeMux, csrf *http.CrossOriginProtection) {
	m.HandleFunc("GET /login", o.serveLogin)
	m.HandleFunc("GET /callback", o.serveCallback)
	m.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { o.serveLogout(w, r, csrf) })
}

// newSecret returns 32 random bytes, base64url: a session ID, a state, a
// nonce.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretLen is the length of newSecret's strings; anything else in a
// cookie or a state is not ours.
const secretLen = 43

func (o *OIDC) cookie(r *http.Request, name, value string, maxAge int, same http.SameSite) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: o.path, MaxAge: maxAge,
		HttpOnly: true, Secure: o.https || r.TLS != nil, SameSite: same,
	}
}

// serveLogin starts a sign-in: a state, a nonce and a PKCE verifier held
// here, the state also in a cookie that binds the sign-in to this browser
// (so that nobody can finish their own sign-in in someone else's
// browser), and a redirect to the provider.
func (o *OIDC) serveLogin(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := newSecret(), newSecret(), oauth2.GenerateVerifier()
	now := o.clock()
	o.mu.Lock()
	o.pending[sha256.Sum256([]byte(state))] = &pendingLogin{nonce: nonce, verifier: verifier, expires: now.Add(LoginTTL)}
	evictOldest(o.pending, maxPendingLogins, now, func(p *pendingLogin) time.Time { return p.expires })
	o.mu.Unlock()
	// Lax, not Strict: the callback is a navigation from the provider's
	// site, which a Strict cookie would not ride
	http.SetCookie(w, o.cookie(r, loginCookie, state, int(LoginTTL.Seconds()), http.SameSiteLaxMode))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, o.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusFound)
}

// serveCallback finishes a sign-in: the state must be this browser's and
// unused, the code is exchanged (with the PKCE verifier) for an ID token,
// which must verify and carry this sign-in's nonce; the person must have
// a role. Then a session starts and the browser goes back to the page.
func (o *OIDC) serveCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if len(r.URL.RawQuery) > maxCallbackQuery {
		jsonError(w, http.StatusBadRequest, "callback query too long")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	bound := ""
	if c, err := r.Cookie(loginCookie); err == nil {
		bound = c.Value
	}
	// the sign-in is over, whatever happens next
	http.SetCookie(w, o.cookie(r, loginCookie, "", -1, http.SameSiteLaxMode))
	if len(state) != secretLen || subtle.ConstantTimeCompare([]byte(state), []byte(bound)) != 1 {
		jsonError(w, http.StatusBadRequest, "bad or missing sign-in state: sign in again from this browser")
		return
	}
	now := o.clock()
	key := sha256.Sum256([]byte(state))
	o.mu.Lock()
	p := o.pending[key]
	delete(o.pending, key) // once: a replayed callback finds nothing
	o.mu.Unlock()
	if p == nil || now.After(p.expires) {
		jsonError(w, http.StatusBadRequest, "sign-in expired or already finished: sign in again")
		return
	}
	if e := q.Get("error"); e != "" {
		jsonError(w, http.StatusUnauthorized, "the identity provider refused the sign-in: "+clean(e))
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		jsonError(w, http.StatusBadRequest, "missing or oversized authorization code")
		return
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), o.client), idpTimeout)
	defer cancel()
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		jsonError(w, http.StatusUnauthorized, "the identity provider refused the code")
		return
	}
	who, err := o.verify(ctx, tok, p.nonce)
	if err != nil {
		jsonError(w, http.StatusUnauthorized, "ID token refused: "+err.Error())
		return
	}
	if who.Role == roleNone {
		jsonError(w, http.StatusForbidden, "signed in as "+who.display()+", who has no role on this dashboard")
		return
	}
	id := newSecret()
	o.mu.Lock()
	o.sessions[sha256.Sum256([]byte(id))] = &session{who: *who, expires: now.Add(o.cfg.SessionTTL)}
	evictOldest(o.sessions, o.cfg.MaxSessions, now, func(s *session) time.Time { return s.expires })
	o.mu.Unlock()
	// Strict: the page itself needs no session, and everything that does
	// (the stream, the state, the controls) is asked for by the page,
	// same-site, so no request from another site ever carries it
	http.SetCookie(w, o.cookie(r, sessionCookie, id, int(o.cfg.SessionTTL.Seconds()), http.SameSiteStrictMode))
	// to the page, as the browser sees it (RedirectURL's directory): the
	// path here has lost the mount point to http.StripPrefix
	http.Redirect(w, r, o.path, http.StatusSeeOther)
}

// verify checks the ID token in tok and returns who it names.
func (o *OIDC) verify(ctx context.Context, tok *oauth2.Token, nonce string) (*identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("the token response has no id_token")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, errors.New("its nonce is not this sign-in's (a replayed token?)")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	// OIDC Core 3.1.3.7: with several audiences, azp must be us
	if azp, _ := claims["azp"].(string); len(idt.Audience) > 1 && azp != o.cfg.ClientID {
		return nil, errors.New("several audiences and azp is not this client")
	}
	if idt.Subject == "" {
		return nil, errors.New("no subject")
	}
	str := func(k string) string { s, _ := claims[k].(string); return clean(s) }
	name := str("name")
	if name == "" {
		name = str("preferred_username")
	}
	return &identity{
		Subject: clean(idt.Subject), Email: str("email"), Name: name,
		Role: o.cfg.Roles.of(claimValues(claims, o.cfg.Roles.Claim)), Via: "oidc",
	}, nil
}

// maxSessionCookies bounds the session cookies looked at on one request
// (a browser sends one; others with the same name may come from other
// paths).
const maxSessionCookies = 4

// session returns the person r's session cookie carries, or nil.
func (o *OIDC) session(r *http.Request) *identity {
	now := o.clock()
	for i, c := range r.CookiesNamed(sessionCookie) {
		if i == maxSessionCookies {
			break
		}
		if len(c.Value) != secretLen {
			continue
		}
		key := sha256.Sum256([]byte(c.Value))
		o.mu.Lock()
		s := o.sessions[key]
		if s != nil && now.After(s.expires) {
			delete(o.sessions, key)
			s = nil
		}
		o.mu.Unlock()
		if s != nil {
			who := s.who
			return &who
		}
	}
	return nil
}

// serveLogout ends r's session (POST, same origin: the page's "sign out").
func (o *OIDC) serveLogout(w http.ResponseWriter, r *http.Request, csrf *http.CrossOriginProtection) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		jsonError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if err := csrf.Check(r); err != nil {
		jsonError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	for _, c := range r.CookiesNamed(sessionCookie) {
		key := sha256.Sum256([]byte(c.Value))
		o.mu.Lock()
		delete(o.sessions, key)
		o.mu.Unlock()
	}
	http.SetCookie(w, o.cookie(r, sessionCookie, "", -1, http.SameSiteStrictMode))
	writeJSON(w, http.StatusOK, map[string]bool{"signedOut": true})
}

// sessionCount returns the sessions held, expired ones included.
func (o *OIDC) sessionCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sessions)
}

// evictOldest bounds m to limit entries after an insertion: the expired
// go first, then the one that expires soonest.
func evictOldest[V any](m map[[32]byte]V, limit int, now time.Time, expires func(V) time.Time) {
	if len(m) <= limit {
		return
	}
	for k, v := range m {
		if now.After(expires(v)) {
			delete(m, k)
		}
	}
	for len(m) > limit {
		var oldest [32]byte
		var at time.Time
		first := true
		for k, v := range m {
			if e := expires(v); first || e.Before(at) {
				oldest, at, first = k, e, false
			}
		}
		delete(m, oldest)
	}
}

// clock returns the time now (o.now, which tests move, under o.mu).
func (o *OIDC) clock() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.now()
}
