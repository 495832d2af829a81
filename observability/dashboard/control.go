package atrdash

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	atrion "github.com/atrion-go/atrion/core"
)

// maxControlBody bounds a control request's body.
const maxControlBody = 4 << 10

// control checks a control request, in order: method, same origin,
// token, JSON body (decoded into body, unknown fields refused). It answers
// the request and reports false when one fails.
func (d *Dashboard) control(w http.ResponseWriter, r *http.Request, body any, want string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		jsonError(w, http.StatusMethodNotAllowed, "use POST")
		return false
	}
	if err := d.csrf.Check(r); err != nil {
		jsonError(w, http.StatusForbidden, "cross-origin request refused")
		return false
	}
	if !d.authorized(w, r) {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		jsonError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(body); err != nil {
		jsonError(w, http.StatusBadRequest, "bad body: want "+want)
		return false
	}
	return true
}

// validRoute answers a bad route ID and reports false.
func validRoute(w http.ResponseWriter, id string) bool {
	if id == "" || len(id) > atrion.MaxRouteIDLen {
		jsonError(w, http.StatusBadRequest, "route must be 1 to 1024 bytes")
		return false
	}
	return true
}

// serveEvict forgets a route's state (POST /api/evict {"route": "..."}).
// Registered only with WithControls.
func (d *Dashboard) serveEvict(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Route string `json:"route"`
	}
	if !d.control(w, r, &body, `{"route": "..."}`) || !validRoute(w, body.Route) {
		return
	}
	if !d.a.Evict(body.Route) {
		jsonError(w, http.StatusNotFound, "route not tracked")
		return
	}
	d.a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Route: body.Route, Actor: actor(r), Action: "evict"})
	writeJSON(w, http.StatusOK, map[string]string{"evicted": body.Route})
}

// tokenOK checks the control token in an Authorization header.
func (d *Dashboard) tokenOK(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	return ok && tokenMatch(tok, d.cfg.token)
}

// tokenMatch compares a token in constant time (over digests, so that the
// length does not leak either); no token matches an empty want.
func tokenMatch(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
