package atrdash

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// role is what a person the dashboard knows may do.
type role int

const (
	roleNone     role = iota // known, but given no role: refused everything
	roleViewer               // reads the state
	roleOperator             // reads and uses the controls
)

func (r role) String() string {
	switch r {
	case roleViewer:
		return "viewer"
	case roleOperator:
		return "operator"
	}
	return "none"
}

// Roles says who is a viewer (reads the state) and who an operator (reads
// and uses the controls), from a claim of the ID token (WithOIDC) or the
// groups header of a trusted proxy (WithTrustedProxy). An operator is a
// viewer too; a person matching neither is refused.
type Roles struct {
	// Claim names the ID token claim that carries the person's groups or
	// roles, a string or an array of strings: "groups", "roles", "role",
	// or a dotted path into nested objects ("realm_access.roles"), tried
	// after the name as it is (claim names such as
	// "https://example.com/roles" hold dots). WithTrustedProxy ignores it.
	Claim string
	// Operators are the values (in the claim, or groups in the header) that
	// make a person an operator.
	Operators []string
	// Viewers are the values that make a person a viewer; "*" makes every
	// person the identity provider signs in one.
	Viewers []string
}

// of returns the role that values give.
func (rs Roles) of(values []string) role {
	for _, v := range values {
		if slices.Contains(rs.Operators, v) {
			return roleOperator
		}
	}
	if slices.Contains(rs.Viewers, "*") {
		return roleViewer
	}
	for _, v := range values {
		if slices.Contains(rs.Viewers, v) {
			return roleViewer
		}
	}
	return roleNone
}

// any reports whether some value gives a role.
func (rs Roles) any() bool { return len(rs.Operators)+len(rs.Viewers) > 0 }

// operators reports whether some value makes an operator: only then can
// a person use the controls.
func (rs Roles) operators() bool { return len(rs.Operators) > 0 }

// claimValues returns the strings of claim name in claims: the claim as
// named, else the dotted path into nested objects.
func claimValues(claims map[string]any, name string) []string {
	v, ok := claims[name]
	if !ok {
		var cur any = claims
		for part := range strings.SplitSeq(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil
			}
			cur = m[part]
		}
		v = cur
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// identity is a person the dashboard knows, from an OIDC session or a
// trusted proxy's headers.
type identity struct {
	Subject string `json:"subject"` // the ID token's sub, or the proxy's user header
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
	Role    role   `json:"-"`
	Via     string `json:"via"` // "oidc" or "proxy"
}

// display is the name the audit trail and the page show: the email if
// there is one, else the name, else the subject.
func (id *identity) display() string {
	switch {
	case id.Email != "":
		return id.Email
	case id.Name != "":
		return id.Name
	}
	return id.Subject
}

type identityKey struct{}

// withIdentity returns r carrying id for the handlers after ServeHTTP.
func withIdentity(r *http.Request, id *identity) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// identityOf returns the person ServeHTTP found r comes from, or nil.
func identityOf(r *http.Request) *identity {
	id, _ := r.Context().Value(identityKey{}).(*identity)
	return id
}

// maxNameLen bounds each name an identity carries into the audit trail.
const maxNameLen = 256

// clean makes s fit for an audit record and a page: valid UTF-8 without
// control or format characters (no forged line breaks, no bidi
// overrides), at most maxNameLen bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// actor names who used a control, for the audit trail: the person, with
// how they were known and from where, or for the bearer token only the
// address it came from.
func actor(r *http.Request) string {
	if id := identityOf(r); id != nil {
		return "dashboard " + id.display() + " (" + id.Via + " " + id.Subject + ") from " + clientAddr(r)
	}
	return "dashboard " + clientAddr(r)
}

// identify returns the person r comes from, or nil: a trusted proxy's
// headers first, then an OIDC session. A proxy's malformed headers are an
// error, so that a broken proxy is seen rather than taken as no one.
func (d *Dashboard) identify(r *http.Request) (*identity, error) {
	if p := d.cfg.proxy; p != nil {
		if id, err := p.identify(r); id != nil || err != nil {
			return id, err
		}
	}
	if o := d.cfg.oidc; o != nil {
		return o.session(r), nil
	}
	return nil, nil
}

// ssoControls reports whether single sign-on can make someone an
// operator.
func (c *config) ssoControls() bool {
	return (c.oidc != nil && c.oidc.cfg.Roles.operators()) || (c.proxy != nil && c.proxy.Roles.operators())
}

// sso reports whether single sign-on is on: reading then needs a viewer
// (or the read token).
func (c *config) sso() bool { return c.oidc != nil || c.proxy != nil }

// operatorOK reports whether r may use a control: it carries the control
// token, or comes from an operator. Otherwise it answers r: 401 to no one
// known, 403 to a person without the operator role.
func (d *Dashboard) operatorOK(w http.ResponseWriter, r *http.Request) bool {
	if d.tokenOK(r.Header.Get("Authorization")) {
		return true
	}
	who := identityOf(r)
	switch {
	case who != nil && who.Role == roleOperator:
		return true
	case who != nil:
		jsonError(w, http.StatusForbidden, who.display()+" is not an operator: the controls need the operator role")
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="atrion"`)
	jsonError(w, http.StatusUnauthorized, "missing or bad token")
	return false
}

// whoami is GET /api/whoami's answer: who the page is signed in as, and
// whether it can sign in.
type whoami struct {
	SignedIn bool   `json:"signedIn"`
	Name     string `json:"name,omitempty"` // what the page shows: the email, name or subject
	Role     string `json:"role,omitempty"` // viewer, operator or none
	Via      string `json:"via,omitempty"`  // oidc or proxy
	Login    bool   `json:"login"`          // the page can offer "sign in" (WithOIDC)
	SignOut  bool   `json:"signOut"`        // the page can offer "sign out" (an OIDC session)
}

// serveWhoami tells the page who it is signed in as (GET /api/whoami).
func (d *Dashboard) serveWhoami(w http.ResponseWriter, r *http.Request) {
	out := whoami{Login: d.cfg.oidc != nil}
	if who := identityOf(r); who != nil {
		out.SignedIn, out.Name, out.Role, out.Via = true, who.display(), who.Role.String(), who.Via
		out.SignOut = who.Via == "oidc"
	}
	writeJSON(w, http.StatusOK, out)
}
