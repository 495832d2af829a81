package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrdash "github.com/atrion-go/atrion/observability/dashboard"
	"github.com/atrion-go/atrion/observability/dashboard/oidctest"
)

// TestSingleSignOnInChromium signs in to the dashboard in headless
// Chromium through a real OpenID Connect flow: the page offers "sign in",
// the test issuer's login page takes a click, and the browser comes back
// with a session. A viewer reads the live page and is refused a control;
// after signing out, an operator uses it, and the audit trail names her.
//
// The issuer is at 127.0.0.1 and the dashboard at localhost: two sites,
// so the sign-in cookie (SameSite=Lax) must ride the issuer's cross-site
// redirect back, and the session cookie (SameSite=Strict) the page's own
// requests.
func TestSingleSignOnInChromium(t *testing.T) {
	b := startChromium(t)
	var audit atriontest.AuditLog
	a, clk := atriontest.New(t, atriontest.Static(atrion.WithAudit(&audit))...)
	atriontest.Send(a, "GET /x", 3, atrion.Success)
	clk.Advance(a.Tick())

	iss := oidctest.NewIssuer(t)
	iss.AddUser(oidctest.User{Subject: "bob-2", Email: "bob@example.com", Claims: map[string]any{"groups": []string{"staff"}}})
	iss.AddUser(oidctest.User{Subject: "ada-1", Email: "ada@example.com", Claims: map[string]any{"groups": []string{"staff", "atrion-operators"}}})
	site := oidctest.NewSite(t, "localhost", "/atrion")
	base := site.URL
	iss.AddClient("atrion-dash", "client-secret", base+"callback")
	sso, err := atrdash.NewOIDC(context.Background(), atrdash.OIDCConfig{
		Issuer: iss.URL, ClientID: "atrion-dash", ClientSecret: "client-secret", RedirectURL: base + "callback",
		Roles: atrdash.Roles{Claim: "groups", Operators: []string{"atrion-operators"}, Viewers: []string{"staff"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := atrdash.New(a, atrdash.WithOIDC(sso))
	t.Cleanup(d.Close)
	site.Serve(d)

	card := `article.route[data-route="GET /x"]`
	signIn := func(user, role string) {
		t.Helper()
		if err := b.do(20*time.Second, chromedp.WaitVisible(chromedp.ID("signin")), chromedp.Click(chromedp.ID("signin"))); err != nil {
			t.Fatalf("sign in link: %v", err)
		}
		// the issuer's login page
		if err := b.do(20*time.Second, chromedp.WaitVisible(chromedp.ID("user-"+user)), chromedp.Click(chromedp.ID("user-"+user))); err != nil {
			t.Fatalf("issuer's login page: %v", err)
		}
		// back on the dashboard, signed in, reading
		if err := b.do(20*time.Second, chromedp.WaitVisible(chromedp.CSS(card))); err != nil {
			t.Fatalf("%s's dashboard: %v", user, err)
		}
		if _, err := b.waitPage(context.Background(), `location.href === "`+base+`" &&
			document.getElementById("status").textContent === "live" &&
			document.getElementById("who").textContent.endsWith("(`+role+`)") &&
			document.getElementById("signin").hidden`, 10*time.Second); err != nil {
			t.Fatalf("%s signed in: %v", user, err)
		}
	}
	evict := func() {
		t.Helper()
		if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(card+" .route-head button:last-child"))); err != nil {
			t.Fatalf("evict button: %v", err)
		}
	}

	if err := b.navigate(base); err != nil {
		t.Fatal(err)
	}
	if _, err := b.waitPage(context.Background(), `document.getElementById("status").textContent === "sign in to read the dashboard" &&
		document.querySelector("article.route") === null`, 10*time.Second); err != nil {
		t.Fatalf("before sign-in the page must read nothing: %v", err)
	}

	signIn("bob-2", "viewer")
	evict()
	if _, err := b.waitPage(context.Background(), `document.getElementById("control-msg").textContent.startsWith("refused: bob@example.com is not an operator")`, 10*time.Second); err != nil {
		t.Fatalf("the viewer's evict: %v", err)
	}
	if !slices.Contains(a.Routes(), "GET /x") {
		t.Fatal("the viewer's evict went through")
	}
	saveScreenshot(t, b, "sso-viewer.png", "SSO_PNG")

	if err := b.do(10*time.Second, chromedp.Click(chromedp.ID("signout"))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	signIn("ada-1", "operator")
	evict()
	if _, err := b.waitPage(context.Background(), `document.getElementById("control-msg").textContent === "evicted GET /x"`, 10*time.Second); err != nil {
		t.Fatalf("the operator's evict: %v", err)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, r := range audit.Of(atrion.AuditControl) {
		actors = append(actors, r.Actor)
	}
	if want := []string{"dashboard ada@example.com (oidc ada-1) from 127.0.0.1"}; !slices.Equal(actors, want) {
		t.Fatalf("audited %q, want %q", actors, want)
	}
	if n := iss.Exchanges(); n != 2 {
		t.Fatalf("the issuer redeemed %d codes, want 2 sign-ins", n)
	}
}
