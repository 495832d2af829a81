package atrdash

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

//go:embed static
var staticFS embed.FS

// Dashboard is the Decision Dashboard, an http.Handler. It serves:
//
//	GET  /            the page (with /app.js and /app.css)
//	GET  /events      Server-Sent Events: one State as JSON per frame
//	GET  /api/state   the current State as JSON, R history included
//	POST /api/evict   {"route": "..."}, only with WithControls
//
// Create it with New; Close ends the open streams.
type Dashboard struct {
	a    *atrion.Atrion
	cfg  config
	mux  *http.ServeMux
	csrf *http.CrossOriginProtection
	own  *Recorder // transitions seen by the sampler, without a Recorder

	mu      sync.Mutex
	tracks  map[string]*track
	gen     uint64
	last    State
	lastAt  time.Time
	clients map[*client]struct{}
	running bool // the sampler goroutine is running
	closed  bool

	done      chan struct{}
	closeOnce sync.Once
}

// New returns a dashboard for a. It panics if a is nil. Its sampler runs
// only while a browser is connected, so a Dashboard with no clients costs
// nothing.
func New(a *atrion.Atrion, opts ...Option) *Dashboard {
	if a == nil {
		panic("atrdash: New with a nil engine")
	}
	d := &Dashboard{
		a:       a,
		cfg:     newConfig(opts),
		csrf:    http.NewCrossOriginProtection(),
		own:     NewRecorder(0),
		tracks:  make(map[string]*track),
		clients: make(map[*client]struct{}),
		done:    make(chan struct{}),
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	m := http.NewServeMux()
	files := http.FileServerFS(static)
	m.Handle("GET /{$}", files)
	m.Handle("GET /app.js", files)
	m.Handle("GET /app.css", files)
	m.HandleFunc("GET /events", d.serveEvents)
	m.HandleFunc("GET /api/state", d.serveState)
	if d.cfg.token != "" {
		m.HandleFunc("/api/evict", d.serveEvict)
	}
	d.mux = m
	return d
}

// Handler returns New(a, opts...) as an http.Handler.
func Handler(a *atrion.Atrion, opts ...Option) http.Handler { return New(a, opts...) }

// ServeHTTP serves the page, the stream and the API.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// everything the page needs is served from here: nothing inline, nothing from outside
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	d.mux.ServeHTTP(w, r)
}

// ControlsEnabled reports whether the control endpoint is on (WithControls
// with a long enough token).
func (d *Dashboard) ControlsEnabled() bool { return d.cfg.token != "" }

// State takes a sample if the last one is older than half an interval and
// returns it, R history included.
func (d *Dashboard) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stateLocked(true)
}

// stateLocked returns the current state, sampling first when stale; full
// adds every route's history. Caller holds d.mu.
func (d *Dashboard) stateLocked(full bool) State {
	if now := time.Now(); now.Sub(d.lastAt) >= d.cfg.interval/2 {
		d.sampleLocked(now)
	}
	st := d.last
	st.Routes = append([]RouteState(nil), st.Routes...)
	if full {
		for i := range st.Routes {
			if tr := d.tracks[st.Routes[i].Route]; tr != nil {
				st.Routes[i].History = tr.points()
			}
		}
	}
	st.Transitions = d.recorder().Transitions()
	return st
}

func (d *Dashboard) recorder() *Recorder {
	if d.cfg.recorder != nil {
		return d.cfg.recorder
	}
	return d.own
}

// Close ends every open /events stream and stops the sampler; later
// streams are refused with 503. The page and /api/state keep working.
// Call it before http.Server.Shutdown, which waits for streams to end
// (or register it with Server.RegisterOnShutdown).
func (d *Dashboard) Close() {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.done)
	})
}

func (d *Dashboard) serveState(w http.ResponseWriter, _ *http.Request) {
	st := d.State()
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "atrdash: encoding state: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// jsonError writes {"error": msg} with code.
func jsonError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
