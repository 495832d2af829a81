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
