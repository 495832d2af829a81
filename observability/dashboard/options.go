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
	recorder     *Recorder
	title        string
}

// Defaults and bounds of the options. Values out of bounds are clamped.
const (
	DefaultInterval   = 250 * time.Millisecond // time between frames
	DefaultHistory    = 240                    // R points kept per route (a minute at the default interval)
	DefaultMaxClients = 32                     // concurrent /events streams
	// MinTokenLen is the shortest token WithControls accepts; a shorter
	// one leaves the controls off.
	MinTokenLen = 16

	minInterval, maxInterval = 50 * time.Millisecond, 10 * time.Second
	maxHistory               = 10000
	maxClientsCap            = 10000
)

func newConfig(opts []Option) config {
	c := config{
		interval:     DefaultInterval,
		history:      DefaultHistory,
		maxClients:   DefaultMaxClients,
		writeTimeout: 5 * time.Second,
		title:        "Atrion Decision Dashboard",
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.interval = min(max(c.interval, minInterval), maxInterval)
	c.history = min(max(c.history, 2), maxHistory)
	c.maxClients = min(max(c.maxClients, 1), maxClientsCap)
	if len(c.token) < MinTokenLen {
		c.token = ""
	}
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
// is shorter than MinTokenLen bytes. Requests must also be POST, carry a
// JSON body and pass a same-origin check (http.CrossOriginProtection). The
// page never holds the token: the operator types it in.
func WithControls(token string) Option { return func(c *config) { c.token = token } }

// WithRecorder takes recent transitions from rec, which the engine must
// also have as its observer (atrion.WithObserver(rec)), instead of from
// snapshot mode changes; a transition then pushes a frame at once.
func WithRecorder(rec *Recorder) Option { return func(c *config) { c.recorder = rec } }

// WithTitle sets the page's title (default "Atrion Decision Dashboard").
func WithTitle(s string) Option { return func(c *config) { c.title = s } }
