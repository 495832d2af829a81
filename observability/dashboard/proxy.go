package atrdash

import (
	"cmp"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ProxyConfig is identity from an authenticating reverse proxy
// (oauth2-proxy, or any proxy that signs people in and passes who they are
// in headers): WithTrustedProxy.
type ProxyConfig struct {
	// Trusted are the proxy's addresses. The headers are honoured only on
	// requests whose connection comes from one of them (the host of
	// RemoteAddr, never a forwarded-for header); from anywhere else they
	// are ignored, as anyone can send them.
	Trusted []netip.Prefix
	// UserHeader, EmailHeader and GroupsHeader name the headers (defaults
	// X-Forwarded-User, X-Forwarded-Email, X-Forwarded-Groups, as
	// oauth2-proxy sends them with --set-xauthrequest or
	// --pass-user-headers). Groups are comma-separated.
	UserHeader, EmailHeader, GroupsHeader string
	// Roles maps the groups to viewer and operator (Roles.Claim unused).
	Roles Roles
}

// Bounds of what a proxy's headers may carry; past them the request is
// refused (400), since a proxy that sends more is broken or not the proxy.
const (
	maxProxyValue  = maxNameLen // user and email
	maxProxyGroups = 4 << 10    // the groups header, in bytes
)

// WithTrustedProxy takes who a request comes from from the headers of an
// authenticating proxy at p.Trusted. The proxy must overwrite these
// headers on every request it forwards (oauth2-proxy does) and be the only
// way to the dashboard from outside. Reading then needs the viewer role (or
// WithReadToken's token), and the controls, on as soon as p.Roles names
// operators, the operator role (or WithControls' token); a request from
// the proxy without the user header is no one. With no trusted address,
// or no role named, the option is ignored.
func WithTrustedProxy(p ProxyConfig) Option {
	return func(c *config) {
		if len(p.Trusted) == 0 || !p.Roles.any() {
			c.proxy = nil
			return
		}
		p.Trusted = slices.Clone(p.Trusted)
		p.UserHeader = cmp.Or(p.UserHeader, "X-Forwarded-User")
		p.EmailHeader = cmp.Or(p.EmailHeader, "X-Forwarded-Email")
		p.GroupsHeader = cmp.Or(p.GroupsHeader, "X-Forwarded-Groups")
		c.proxy = &p
	}
}

// trusts reports whether r's connection comes from the proxy.
func (p *ProxyConfig) trusts(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, pre := range p.Trusted {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

var errProxyHeaders = errors.New("malformed identity headers from the trusted proxy")

// identify returns the person the proxy names on r: nil when r does not
// come from the proxy or names no one; an error when the headers are
// repeated, too long or hold control characters.
func (p *ProxyConfig) identify(r *http.Request) (*identity, error) {
	if !p.trusts(r) {
		return nil, nil
	}
	user, ok1 := single(r, p.UserHeader, maxProxyValue)
	email, ok2 := single(r, p.EmailHeader, maxProxyValue)
	groups, ok3 := single(r, p.GroupsHeader, maxProxyGroups)
	if !ok1 || !ok2 || !ok3 {
		return nil, errProxyHeaders
	}
	if user == "" {
		return nil, nil
	}
	var gs []string
	for g := range strings.SplitSeq(groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	return &identity{Subject: user, Email: email, Role: p.Roles.of(gs), Via: "proxy"}, nil
}

// single returns header name's one value: ok false when it is repeated,
// longer than limit, or not printable UTF-8.
func single(r *http.Request, name string, limit int) (string, bool) {
	vs := r.Header.Values(name)
	switch {
	case len(vs) == 0:
		return "", true
	case len(vs) > 1 || len(vs[0]) > limit || !utf8.ValidString(vs[0]):
		return "", false
	}
	for _, c := range vs[0] {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return "", false
		}
	}
	return vs[0], true
}
