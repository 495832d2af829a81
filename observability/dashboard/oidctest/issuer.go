// Package oidctest is an OpenID Connect provider for tests: a real HTTP
// server on 127.0.0.1 that serves discovery, a JWKS, a login page and a
// token endpoint, and signs RS256 ID tokens with a key of its own (the
// standard library's crypto, nothing else). It speaks the authorization
// code flow with PKCE (S256 only) that the dashboard's single sign-on
// uses, strictly enough that a client which gets the flow wrong fails:
// unknown clients and redirect URIs, missing PKCE, reused or expired codes
// and wrong verifiers are refused.
//
//	iss := oidctest.NewIssuer(t)
//	iss.AddClient("atrion", "secret", srv.URL+"/callback")
//	iss.AddUser(oidctest.User{Subject: "u1", Email: "ada@example.com",
//		Claims: map[string]any{"groups": []string{"operators"}}})
//
// A browser (or an http.Client that follows redirects and posts the
// form) signs in on the login page, which offers one button per user.
// Tamper changes the ID tokens the token endpoint issues, to test a
// client's refusals: expired, signed with another key, for another
// audience or issuer, or carrying another login's nonce.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is an account on the test issuer. Its ID tokens carry sub, email
// and name, and Claims beside them (e.g. "groups": []string{...}).
type User struct {
	Subject string
	Name    string
	Email   string
	Claims  map[string]any
}

// Token is an ID token the issuer is about to sign: Tamper's function may
// change its claims, or the key and key ID that sign it.
type Token struct {
	Claims map[string]any
	Key    *rsa.PrivateKey
	KeyID  string
}

// Lifetimes of what the issuer hands out.
const (
	CodeTTL    = time.Minute     // an authorization code, redeemable once
	TokenTTL   = 5 * time.Minute // an ID token's exp - iat
	requestTTL = 10 * time.Minute
	maxPending = 1000 // authorization requests and codes held at once
)

// Issuer is a running test OpenID Connect provider; its URL is the issuer
// identifier. NewIssuer starts it; it stops when the test ends.
type Issuer struct {
	// URL is the issuer identifier, http://127.0.0.1:port, with no
	// trailing slash.
	URL string

	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu        sync.Mutex
	clients   map[string]client
	users     []User
	requests  map[string]*authRequest // shown login pages, by ID
	codes     map[string]*authRequest // issued codes
	tamper    func(*Token)
	exchanges int
}

type client struct{ secret, redirect string }

// authRequest is one authorization request, from the login page to the
// code's redemption.
type authRequest struct {
	client, redirect, state, nonce, challenge string
	user                                      User
	at                                        time.Time
}

// NewIssuer starts an issuer on 127.0.0.1 with a fresh 2048-bit RSA key;
// it closes when t ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generating the signing key: %v", err)
	}
	iss := &Issuer{
		key:      key,
		kid:      "k1",
		clients:  map[string]client{},
		requests: map[string]*authRequest{},
		codes:    map[string]*authRequest{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.serveDiscovery)
	mux.HandleFunc("GET /jwks", iss.serveJWKS)
	mux.HandleFunc("GET /authorize", iss.serveAuthorize)
	mux.HandleFunc("POST /authorize", iss.serveLogin)
	mux.HandleFunc("POST /token", iss.serveToken)
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	t.Cleanup(iss.srv.Close)
	return iss
}

// AddClient registers a relying party: its ID, secret and the one
// redirect URI it may use.
func (iss *Issuer) AddClient(id, secret, redirectURL string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.clients[id] = client{secret: secret, redirect: redirectURL}
}

// AddUser adds an account to the login page.
func (iss *Issuer) AddUser(u User) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.users = append(iss.users, u)
}

// Tamper passes every ID token the token endpoint issues from now on
// through f before it is signed (nil stops tampering).
func (iss *Issuer) Tamper(f func(*Token)) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.tamper = f
}

// Exchanges returns how many codes the token endpoint has redeemed.
func (iss *Issuer) Exchanges() int {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.exchanges
}

// Sign returns claims as a compact JWS signed RS256 with the issuer's key,
// as its token endpoint would issue them.
func (iss *Issuer) Sign(claims map[string]any) string {
	return SignRS256(iss.key, iss.kid, claims)
}

// SignRS256 returns claims as a compact JWS (header.payload.signature)
// signed with key, its header naming kid.
func SignRS256(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	b64 := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	body, err := json.Marshal(claims)
	if err != nil {
		panic("oidctest: claims do not encode: " + err.Error())
	}
	input := b64.EncodeToString(head) + "." + b64.EncodeToString(body)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("oidctest: signing: " + err.Error())
	}
	return input + "." + b64.EncodeToString(sig)
}

func (iss *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss.URL,
		"authorization_endpoint":                iss.URL + "/authorize",
		"token_endpoint":                        iss.URL + "/token",
		"jwks_uri":                              iss.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	b64 := base64.RawURLEncoding
	pub := iss.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": iss.kid,
		"n": b64.EncodeToString(pub.N.Bytes()),
		"e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// loginPage offers one button per user; the form posts back to
// /authorize with the request's ID.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test issuer: sign in</title></head>
<body><h1>Sign in to the test issuer</h1>
<form method="post" action="/authorize">
<input type="hidden" name="request" value="{{.ID}}">
{{range .Users}}<p><button type="submit" name="user" value="{{.Subject}}" id="user-{{.Subject}}">Sign in as {{.Email}}</button></p>
{{end}}</form></body></html>
`))

// serveAuthorize checks an authorization request and shows the login
// page. Errors before the redirect URI is known to be the client's are
// shown here, never redirected (RFC 6749 §4.1.2.1).
func (iss *Issuer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iss.mu.Lock()
	c, known := iss.clients[q.Get("client_id")]
	users := slices.Clone(iss.users)
	iss.mu.Unlock()
	switch {
	case !known:
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != c.redirect:
		http.Error(w, "oidctest: redirect_uri is not the client's", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		u, _ := url.Parse(c.redirect)
		v := u.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		v.Set("state", q.Get("state"))
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only code")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "openid is required")
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "PKCE with S256 is required")
		return
	}
	req := &authRequest{
		client: q.Get("client_id"), redirect: c.redirect, state: q.Get("state"),
		nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), at: time.Now(),
	}
	id := randomID()
	iss.mu.Lock()
	iss.pruneLocked(iss.requests, requestTTL)
	iss.requests[id] = req
	iss.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = loginPage.Execute(w, map[string]any{"ID": id, "Users": users})
}

// serveLogin signs the chosen user in and sends the browser back to the
// client with a code and the request's state.
func (iss *Issuer) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "oidctest: bad form", http.StatusBadRequest)
		return
	}
	iss.mu.Lock()
	req := iss.requests[r.PostForm.Get("request")]
	delete(iss.requests, r.PostForm.Get("request"))
	var user *User
	for i := range iss.users {
		if iss.users[i].Subject == r.PostForm.Get("user") {
			user = &iss.users[i]
		}
	}
	if req == nil || user == nil {
		iss.mu.Unlock()
		http.Error(w, "oidctest: unknown login request or user", http.StatusBadRequest)
		return
	}
	req.user, req.at = *user, time.Now()
	code := randomID()
	iss.pruneLocked(iss.codes, CodeTTL)
	iss.codes[code] = req
	iss.mu.Unlock()
	u, _ := url.Parse(req.redirect)
	v := u.Query()
	v.Set("code", code)
	if req.state != "" {
		v.Set("state", req.state)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// serveToken redeems a code (once, within CodeTTL, by its client, with
// the PKCE verifier) for an access token and a signed ID token.
func (iss *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: the credentials are form-encoded inside Basic
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	iss.mu.Lock()
	c, known := iss.clients[id]
	req := iss.codes[f.Get("code")]
	delete(iss.codes, f.Get("code")) // one try per code, right or wrong
	tamper := iss.tamper
	iss.mu.Unlock()
	if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case f.Get("grant_type") != "authorization_code":
		tokenError(w, "unsupported_grant_type", "only authorization_code")
		return
	case req == nil || req.client != id || time.Since(req.at) > CodeTTL:
		tokenError(w, "invalid_grant", "unknown, used or expired code")
		return
	case f.Get("redirect_uri") != req.redirect:
		tokenError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
		tokenError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": iss.URL, "sub": req.user.Subject, "aud": id,
		"iat": now.Unix(), "exp": now.Add(TokenTTL).Unix(),
		"email": req.user.Email, "email_verified": true, "name": req.user.Name,
	}
	if req.nonce != "" {
		claims["nonce"] = req.nonce
	}
	for k, v := range req.user.Claims {
		claims[k] = v
	}
	tok := Token{Claims: claims, Key: iss.key, KeyID: iss.kid}
	if tamper != nil {
		tamper(&tok)
	}
	iss.mu.Lock()
	iss.exchanges++
	iss.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomID(), "token_type": "Bearer", "expires_in": int(TokenTTL.Seconds()),
		"id_token": SignRS256(tok.Key, tok.KeyID, tok.Claims),
	})
}

// pruneLocked forgets entries older than ttl and, past maxPending, all of
// them: a test that leaks logins must not grow the issuer without bound.
func (iss *Issuer) pruneLocked(m map[string]*authRequest, ttl time.Duration) {
	for k, v := range m {
		if time.Since(v.at) > ttl {
			delete(m, k)
		}
	}
	if len(m) >= maxPending {
		clear(m)
	}
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomID returns 32 random bytes, base64url.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Site is a loopback server for a relying party under test, whose URL is
// known before its handler: the redirect URI goes into the client's
// configuration (and AddClient) first, the handler that it configures
// comes after.
type Site struct {
	// URL is where the handler is mounted: http://host:port/prefix/.
	URL    string
	prefix string
	srv    *httptest.Server
}

// NewSite listens on 127.0.0.1 for a handler to be mounted at prefix
// ("/atrion", or "" for the root), reached as host ("127.0.0.1", or
// "localhost" to be another site than the issuer's for the browser's
// SameSite rules). It closes when t ends.
func NewSite(t testing.TB, host, prefix string) *Site {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	t.Cleanup(srv.Close)
	return &Site{URL: "http://" + host + ":" + port + prefix + "/", prefix: prefix, srv: srv}
}

// Serve mounts h at the site's prefix (with http.StripPrefix, as a
// dashboard is mounted) and starts serving.
func (s *Site) Serve(h http.Handler) {
	mux := http.NewServeMux()
	mux.Handle(s.prefix+"/", http.StripPrefix(s.prefix, h))
	s.srv.Config.Handler = mux
	s.srv.Start()
}
