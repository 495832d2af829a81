// Package atrdash is the Decision Dashboard: an http.Handler that shows
// every route of an Atrion engine live in the browser — mode, resistance R
// over time, scar tissue, momentum, the AutoTuner's thresholds, admitted
// and shed rates, and recent mode transitions.
//
// The page is one embedded HTML file with vanilla JavaScript (no build
// step, nothing fetched from outside). It reads /events, a Server-Sent
// Events stream that carries the state every interval (250 ms by default)
// and at once on a mode transition; /api/state returns the same state as
// JSON for scripts. The state carries the routes of highest R in full (50
// by default, WithTopRoutes: open circuits first) and a summary of the
// others, so that a frame stays tens of kilobytes with 10,000 routes.
//
//	d := atrdash.New(a)
//	mux.Handle("/atrion/", http.StripPrefix("/atrion", d))
//
// Mount it with a trailing slash: the page uses relative URLs.
//
// Recent transitions come from the mode changes the sampler sees between
// two snapshots, which can miss a short-lived mode. For an exact record,
// give the engine a Recorder as its observer and the dashboard the same
// Recorder:
//
//	rec := atrdash.NewRecorder(0)
//	a, _ := atrion.New(atrion.WithObserver(rec))
//	d := atrdash.New(a, atrdash.WithRecorder(rec))
//
// A Recorder also makes the stream push a frame at once on a transition.
//
// The dashboard is read-only by default. WithControls turns on its
// controls, evicting (resetting) a route and changing a known route's
// configuration (POST /api/config), guarded by a bearer token of real
// entropy (MinTokenLen, MinTokenDistinct), POST only, a JSON body and a
// same-origin check; an address that keeps sending wrong tokens is
// throttled to one try every 2 s.
//
// # Single sign-on
//
// WithOIDC signs people in with an OpenID Connect provider (the
// authorization code flow with PKCE) and WithTrustedProxy takes them from
// an authenticating proxy's headers (oauth2-proxy's X-Forwarded-User,
// -Email and -Groups, honoured only from the proxy's addresses). Roles
// name who is a viewer (reads) and who an operator (reads and uses the
// controls); each control's audit record then names the person
// ("dashboard ada@example.com (oidc 1234) from 10.0.0.7"). The bearer
// tokens of WithControls and WithReadToken keep working beside them, for
// automation.
//
//	sso, err := atrdash.NewOIDC(ctx, atrdash.OIDCConfig{
//		Issuer:       "https://login.example.com/realms/ops",
//		ClientID:     "atrion-dashboard",
//		ClientSecret: os.Getenv("ATRION_OIDC_SECRET"),
//		RedirectURL:  "https://ops.example.com/atrion/callback",
//		Roles: atrdash.Roles{Claim: "groups",
//			Operators: []string{"atrion-operators"}, Viewers: []string{"staff"}},
//	})
//	d := atrdash.New(a, atrdash.WithOIDC(sso))
//
// The page offers "sign in"; the provider sends the browser back to
// /callback, and an HttpOnly session cookie (SameSite=Strict, Secure over
// https) carries the person until OIDCConfig.SessionTTL (8 h). Sessions
// live in memory, bounded by OIDCConfig.MaxSessions: a restart signs
// everyone out. See the README beside this file for the provider's side
// and the proxy mode.
//
// The dashboard never blocks the engine: it samples with Snapshots from
// one goroutine that runs only while a browser is connected, bounds its
// clients, and drops frames for a client that reads too slowly.
//
// Its defaults are safe to expose on an internal network: it is read-only,
// its frames are bounded, each client address may hold two streams (a
// newer one closes its oldest, so stalled sockets cannot lock an operator
// out) and ask /api/state twice a second (WithClientLimits), 32 streams
// in all, and a stream that cannot take a frame for 2 s is dropped.
// WithReadToken requires a token for reading the state; use it, or put
// the dashboard behind your own authentication, where it is reachable
// from outside.
package atrdash
