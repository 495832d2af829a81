package atrdash

import "time"

// Option configures a Dashboard in New or Handler.
type Option func(*config)

type config struct {
	interval     time.Duration
	history      int
	maxClients   int
	writeTimeout time.Duration
	token        string
	readToken    string
	recorder     *Recorder
	title        string
	top          int
	perClient    int          // concurrent /events streams per client address
	stateRate    float64      // /api/state requests per second per client address
	oidc         *OIDC        // WithOIDC
	proxy        *ProxyConfig // WithTrustedProxy
}

// Defaults and bounds of the options. Values out of bounds are clamped.
const (
	DefaultInterval   = 250 * time.Millisecond // time between frames
	DefaultHistory    = 240                    // R points kept per route (a minute at the default interval)
	DefaultMaxClients = 32                     // concurrent /events streams
	DefaultTopRoutes  = 50                     // routes shown in full per frame
	// DefaultStreamsPerClient and DefaultStateRate bound what one client
	// address may take: concurrent /events streams, and /api/state
	// requests per second (with a burst of twice as many).
	DefaultStreamsPerClient = 2
	DefaultStateRate        = 2.0
	// MinTokenLen is the shortest token WithControls and WithReadToken
	// accept; a shorter one (or one of fewer than MinTokenDistinct distinct
	// bytes) leaves the controls off, or reading open.
	MinTokenLen = 16

	minInterval, maxInterval = 50 * time.Millisecond, 10 * time.Second
	maxHistory               = 10000
	maxClientsCap            = 10000
	maxTop                   = 1000
	// writeTimeout bounds each write of a stream: a client that has not
	// taken a frame in this long is stalled, and dropped
	writeTimeout = 2 * time.Second
)

func newConfig(opts []Option) config {
	c := config{
		interval:     DefaultInterval,
		history:      DefaultHistory,
		maxClients:   DefaultMaxClients,
		writeTimeout: writeTimeout,
		title:        "Atrion Decision Dashboard",
		top:          DefaultTopRoutes,
		perClient:    DefaultStreamsPerClient,
		stateRate:    DefaultStateRate,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.interval = min(max(c.interval, minInterval), maxInterval)
	c.history = min(max(c.history, 2), maxHistory)
	c.maxClients = min(max(c.maxClients, 1), maxClientsCap)
	if !strongToken(c.token) {
		c.token = ""
	}
	if !strongToken(c.readToken) {
		c.readToken = ""
	}
	c.top = min(max(c.top, 1), maxTop)
	c.perClient = min(max(c.perClient, 1), c.maxClients)
	if !(c.stateRate > 0) { // also NaN
		c.stateRate = DefaultStateRate
	}
	c.stateRate = min(c.stateRate, 1000)
	return c
}

// WithInterval sets the time between frames on /events (default 250 ms;
// clamped to 50 ms..10 s). It is also the resolution of R's history.
func WithInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithHistory sets how many R points each route keeps for its chart
// (default 240; clamped to 2..10,000).
func WithHistory(n int) Option { return func(c *config) { c.history = n } }

// WithMaxClients bounds the concurrent /events streams (default 32;
// clamped to 1..10,000). A client over the bound gets 503 with Retry-After.
func WithMaxClients(n int) Option { return func(c *config) { c.maxClients = n } }

// WithControls turns on the dashboard's control — evicting a route, which
// forgets its state so that it starts again in BOOTSTRAP — for requests
// that carry "Authorization: Bearer <token>". Controls stay off when token
// is shorter than MinTokenLen bytes or has fewer than MinTokenDistinct
// distinct bytes (use a random one: openssl rand -hex 16). An address
// whose requests carried a wrong token 10 times is answered 429 for 2 s
// per further try, its token unread, so guessing is slow. Requests must also be POST, carry a
// JSON body and pass a same-origin check (http.CrossOriginProtection). The
// page never holds the token: the operator types it in.
func WithControls(token string) Option { return func(c *config) { c.token = token } }

// WithRecorder takes recent transitions from rec, which the engine must
// also have as its observer (atrion.WithObserver(rec)), instead of from
// snapshot mode changes; a transition then pushes a frame at once.
func WithRecorder(rec *Recorder) Option { return func(c *config) { c.recorder = rec } }

// WithTitle sets the page's title (default "Atrion Decision Dashboard").
func WithTitle(s string) Option { return func(c *config) { c.title = s } }

// WithTopRoutes sets how many routes /events frames and /api/state carry
// in full: the routes of highest R (open circuits first, since their R is
// past the break point), with a summary of the others (default 50;
// clamped to 1..1,000). It bounds a frame's size whatever the number of
// routes: with 10,000 routes a frame of every route is megabytes.
func WithTopRoutes(n int) Option { return func(c *config) { c.top = n } }

// WithClientLimits bounds what one client address (the host of the
// request's RemoteAddr) may take: streams concurrent /events streams
// (default 2: a newer stream from the address closes its oldest, so a
// reloaded page or a stalled tab never locks its operator out), and
// statePerSecond /api/state requests per second, with a burst of twice
// as many (default 2; more answer 429 with Retry-After). Behind a reverse
// proxy every client shares the proxy's address: raise the limits there.
func WithClientLimits(streams int, statePerSecond float64) Option {
	return func(c *config) { c.perClient, c.stateRate = streams, statePerSecond }
}

// WithReadToken requires token for reading the state: /events and
// /api/state answer 401 unless the request carries "Authorization: Bearer
// <token>" or the cookie atrdash_token=<token>. The page itself (static,
// no data) stays open; opened as ".../#token=<token>" it stores the token
// in that cookie (SameSite=Strict) and drops it from the address bar.
// Reading stays open when token is shorter than MinTokenLen bytes or has
// fewer than MinTokenDistinct distinct bytes. Route
// IDs are templates, not secrets, so on an internal network the default
// (no read token) is safe; set one where the dashboard is reachable from
// outside.
func WithReadToken(token string) Option { return func(c *config) { c.readToken = token } }
