package atrdash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	atrion "github.com/atrion-go/atrion/core"
)

// MaxConfiguredRoutes bounds the route overrides the config control adds:
// past it (counting the overrides from files and code), a route without
// one is refused, so that a stuck script or a hostile operator cannot grow
// the configuration that every update rebuilds and audits.
const MaxConfiguredRoutes = 256

// serveConfig changes one route's configuration while it runs (POST
// /api/config {"route": "...", "config": {"slo": ..., "physics": ...,
// "autoTuner": ...}}, the route part of atrion.ParseConfig's schema), with
// atrion.Atrion.Update. The config is the route's whole override: a
// section it does not name follows the engine-wide setting, and {} (or
// null) removes the override. Only a route the engine knows (tracked,
// reserved, or already overridden: atrion.Atrion.Knows) may be configured,
// answered 404 otherwise, and at most MaxConfiguredRoutes routes may have
// an override (409 past it). A bad value changes nothing and is answered
// 400 with the field named. Registered only with WithControls; each change
// is in the engine's audit trail under "dashboard <address>", as what it
// changed.
func (d *Dashboard) serveConfig(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	if !d.control(w, r, &raw, `{"route": "...", "config": {...}}`) {
		return
	}
	var route string
	for k := range raw {
		if k != "route" && k != "config" { // the decoder would take "ROUTE" for "route"
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("bad body: unknown field %q: want {\"route\": \"...\", \"config\": {...}}", clipKey(k)))
			return
		}
	}
	if err := json.Unmarshal(raw["route"], &route); err != nil || !validRoute(w, route) {
		if err != nil {
			jsonError(w, http.StatusBadRequest, "bad body: route must be a string")
		}
		return
	}
	if !d.a.Knows(route) {
		jsonError(w, http.StatusNotFound, "route not known to the engine (neither tracked, reserved nor configured)")
		return
	}
	cfg, ok := raw["config"]
	if !ok {
		jsonError(w, http.StatusBadRequest, `bad body: no "config" (send {} to remove the route's override)`)
		return
	}
	rc, err := atrion.ParseRouteConfig(cfg)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if rc != (atrion.RouteConfig{}) && !d.configured(route) && len(d.a.ConfiguredRoutes()) >= MaxConfiguredRoutes {
		jsonError(w, http.StatusConflict, fmt.Sprintf("%d routes have an override already, the most the control adds: remove one first", MaxConfiguredRoutes))
		return
	}
	if err := d.a.Update(atrion.WithRouteConfig(route, rc), atrion.UpdatedBy(actor(r))); err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"updated": route})
}

// configured reports whether route has an override of its own.
func (d *Dashboard) configured(route string) bool {
	_, ok := slices.BinarySearch(d.a.ConfiguredRoutes(), route)
	return ok
}

// clipKey shortens a client's key for an error message.
func clipKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "…"
	}
	return k
}
