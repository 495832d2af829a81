package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// flow runs the authorization code flow against iss as a browser and a
// client would, up to the code: it returns the code and state the issuer
// sent to the redirect URI.
func flow(t *testing.T, iss *Issuer, cfg *oauth2.Config, verifier, user string) (code, state string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authURL := cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1"))
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(b)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `value="`+user+`"`) {
		t.Fatalf("login page: %d %s", res.StatusCode, page)
	}
	reqID := between(page, `name="request" value="`, `"`)
	res, err = noFollow.PostForm(iss.URL+"/authorize", url.Values{"request": {reqID}, "user": {user}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

// The issuer's flow, end to end with x/oauth2 and go-oidc: discovery, the
// login page, a code redeemed once with its PKCE verifier, and an RS256 ID
// token that go-oidc verifies against the JWKS, carrying the nonce and the
// user's claims. A wrong verifier and a reused code are refused.
func TestIssuerFlowVerifiesWithGoOIDC(t *testing.T) {
	iss := NewIssuer(t)
	iss.AddClient("dash", "s3cret", "http://127.0.0.1:1/callback")
	iss.AddUser(User{Subject: "u1", Email: "ada@example.com", Name: "Ada", Claims: map[string]any{"groups": []string{"ops"}}})
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, iss.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: "dash", ClientSecret: "s3cret", RedirectURL: "http://127.0.0.1:1/callback",
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()

	code, state := flow(t, iss, cfg, verifier, "u1")
	if state != "st-1" || code == "" {
		t.Fatalf("redirect carried code %q state %q", code, state)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption("wrong-"+verifier)); err == nil {
		t.Fatal("a wrong PKCE verifier was accepted")
	}
	code, _ = flow(t, iss, cfg, verifier, "u1")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was redeemed twice")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: "dash"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "u1" || idt.Nonce != "n-1" || claims.Email != "ada@example.com" || len(claims.Groups) != 1 {
		t.Fatalf("token: sub %q nonce %q claims %+v", idt.Subject, idt.Nonce, claims)
	}
	if iss.Exchanges() != 1 {
		t.Fatalf("exchanges %d, want 1", iss.Exchanges())
	}

	// a token signed by another key does not verify against the JWKS
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := SignRS256(other, "k1", map[string]any{"iss": iss.URL, "sub": "u1", "aud": "dash", "exp": time.Now().Add(time.Minute).Unix()})
	if _, err := p.Verifier(&oidc.Config{ClientID: "dash"}).Verify(ctx, forged); err == nil {
		t.Fatal("a token signed with another key verified")
	}
}

// Bad authorization requests: an unknown client or redirect URI is
// answered on the issuer's page; no PKCE, or no openid scope, goes back
// to the client as an error.
func TestIssuerRefusesBadRequests(t *testing.T) {
	iss := NewIssuer(t)
	iss.AddClient("dash", "s3cret", "http://127.0.0.1:1/callback")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	good := url.Values{"client_id": {"dash"}, "redirect_uri": {"http://127.0.0.1:1/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge_method": {"S256"}, "code_challenge": {strings.Repeat("a", 43)}}
	for _, c := range []struct {
		name, key, value string
		code             int
		errParam         string
	}{
		{"good", "", "", 200, ""},
		{"unknown client", "client_id", "evil", 400, ""},
		{"foreign redirect", "redirect_uri", "http://evil.example/cb", 400, ""},
		{"no pkce", "code_challenge", "", 302, "invalid_request"},
		{"plain pkce", "code_challenge_method", "plain", 302, "invalid_request"},
		{"no openid", "scope", "email", 302, "invalid_scope"},
		{"implicit", "response_type", "token", 302, "unsupported_response_type"},
	} {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		if c.key != "" {
			q.Set(c.key, c.value)
		}
		res, err := noFollow.Get(iss.URL + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != c.code || (c.errParam != "" && loc.Query().Get("error") != c.errParam) {
			t.Errorf("%s: %d %q, want %d %q", c.name, res.StatusCode, res.Header.Get("Location"), c.code, c.errParam)
		}
	}
}
