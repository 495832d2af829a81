package atrdash_test

import (
	"context"
	"log"
	"net/http"
	"net/netip"
	"os"

	atrion "github.com/atrion-go/atrion/core"
	atrdash "github.com/atrion-go/atrion/observability/dashboard"
)

// Sign operators in with an OpenID Connect provider: members of
// atrion-operators use the controls, the rest of staff read. The control
// token stays for scripts; the audit trail names whoever acted.
func ExampleNewOIDC() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	sso, err := atrdash.NewOIDC(context.Background(), atrdash.OIDCConfig{
		Issuer:       "https://login.example.com/realms/ops",
		ClientID:     "atrion-dashboard",
		ClientSecret: os.Getenv("ATRION_OIDC_SECRET"),
		RedirectURL:  "https://ops.example.com/atrion/callback", // the mount point + "callback"
		Roles: atrdash.Roles{
			Claim:     "groups",
			Operators: []string{"atrion-operators"},
			Viewers:   []string{"staff"},
		},
	})
	if err != nil {
		log.Fatal(err) // a provider out of reach, or a bad config
	}
	d := atrdash.New(a, atrdash.WithOIDC(sso), atrdash.WithControls(os.Getenv("ATRION_CONTROL_TOKEN")))
	mux := http.NewServeMux()
	mux.Handle("/atrion/", http.StripPrefix("/atrion", d))
	log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", mux))
}

// Behind oauth2-proxy: the proxy signs people in and passes who they are
// in headers, which the dashboard believes only from the proxy's address.
func ExampleWithTrustedProxy() {
	a, err := atrion.New()
	if err != nil {
		log.Fatal(err)
	}
	d := atrdash.New(a, atrdash.WithTrustedProxy(atrdash.ProxyConfig{
		Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.5.10/32")}, // the proxy
		Roles:   atrdash.Roles{Operators: []string{"atrion-operators"}, Viewers: []string{"staff"}},
	}))
	mux := http.NewServeMux()
	mux.Handle("/atrion/", http.StripPrefix("/atrion", d))
	log.Fatal(http.ListenAndServe("10.0.5.20:8080", mux))
}
