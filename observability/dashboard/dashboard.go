package atrdash

import (
	"embed"
	"encoding/json"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
//	POST /api/config  {"route": "...", "config": {...}}, only with WithControls
//
// Create it with New; Close ends the open streams.
type Dashboard struct {
	a    *atrion.Atrion
	cfg  config
	mux  *http.ServeMux
	csrf *http.CrossOriginProtection
	own  *Recorder // transitions seen by the sampler, without a Recorder

	sampling sync.Mutex // one sample at a time; taken before mu

	mu      sync.Mutex
	tracks  map[string]*track
	gen     uint64
	last    State
	lastAt  time.Time
	clients map[*client]struct{}
	byAddr  map[string][]*client // clients by address, oldest first
	running bool                 // the sampler goroutine is running
	closed  bool
	// body is /api/state's encoding of sample bodyGen
	body    []byte
	bodyGen uint64
	// shown are the routes the streams were last sent (with their
	// history): the next frame sends the history of the others
	shown map[string]bool

	stateLimit *rateLimiter // /api/state requests per client address
	authFails  *rateLimiter // failed control authentications per client address (authguard.go)

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
		byAddr:  make(map[string][]*client),
		shown:   make(map[string]bool),
		done:    make(chan struct{}),
	}
	d.stateLimit = newRateLimiter(d.cfg.stateRate)
	d.authFails = newAuthThrottle()
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
	if d.ControlsEnabled() {
		m.HandleFunc("/api/evict", d.serveEvict)
		m.HandleFunc("/api/config", d.serveConfig)
	}
	m.HandleFunc("GET /api/whoami", d.serveWhoami)
	if d.cfg.oidc != nil {
		d.cfg.oidc.register(m, d.csrf)
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
	who, err := d.identify(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if who != nil {
		r = withIdentity(r, who)
	}
	if (d.cfg.readToken != "" || d.cfg.sso()) && (r.URL.Path == "/events" || r.URL.Path == "/api/state") && !d.readOK(r) {
		if who != nil {
			jsonError(w, http.StatusForbidden, who.display()+" has no role on this dashboard")
			return
		}
		h.Set("WWW-Authenticate", `Bearer realm="atrion"`)
		jsonError(w, http.StatusUnauthorized, "sign in, or give the read token")
		return
	}
	d.mux.ServeHTTP(w, r)
}

// readOK reports whether r comes from a viewer (single sign-on) or
// carries the read token, as a bearer token or in the atrdash_token
// cookie.
func (d *Dashboard) readOK(r *http.Request) bool {
	if who := identityOf(r); who != nil && who.Role >= roleViewer {
		return true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tokenMatch(tok, d.cfg.readToken) {
		return true
	}
	c, err := r.Cookie(readCookie)
	if err != nil {
		return false
	}
	// the page stores the token as it came in the URL's fragment, escaped
	v, uerr := url.QueryUnescape(c.Value)
	return tokenMatch(c.Value, d.cfg.readToken) || (uerr == nil && tokenMatch(v, d.cfg.readToken))
}

// readCookie is the cookie that carries WithReadToken's token.
const readCookie = "atrdash_token"

// ControlsEnabled reports whether the control endpoints are on
// (WithControls with a long enough token, or single sign-on whose roles
// name operators).
func (d *Dashboard) ControlsEnabled() bool { return d.cfg.token != "" || d.cfg.ssoControls() }

// State takes a sample if the last one is older than half an interval and
// returns it, R history included.
func (d *Dashboard) State() State {
	d.sample(false)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stateLocked(true)
}

// stateLocked returns the last sample's state; full adds its routes'
// history. Caller holds d.mu.
func (d *Dashboard) stateLocked(full bool) State {
	st := d.last
	st.Routes = append([]RouteState(nil), st.Routes...)
	if full {
		d.historyLocked(&st, func(string) bool { return false })
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

// serveState answers /api/state: each client address may ask
// WithClientLimits times a second, and every request within one sample
// gets the same encoding.
func (d *Dashboard) serveState(w http.ResponseWriter, r *http.Request) {
	if ok, wait := d.stateLimit.allow(clientAddr(r), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		jsonError(w, http.StatusTooManyRequests, "atrdash: too many state requests from this client")
		return
	}
	d.sample(false)
	d.mu.Lock()
	st := d.stateLocked(true)
	if d.body == nil || d.bodyGen != d.gen {
		b, err := json.Marshal(st)
		if err != nil {
			d.mu.Unlock()
			http.Error(w, "atrdash: encoding state: "+err.Error(), http.StatusInternalServerError)
			return
		}
		d.body, d.bodyGen = append(b, '\n'), d.gen
	}
	body := d.body
	d.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
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
