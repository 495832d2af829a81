package atrredis

import (
	"fmt"
	"log/slog"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Defaults for the Option funcs below.
const (
	DefaultKeyPrefix = "atrion:state:"
	DefaultChannel   = "atrion:sync"
	DefaultTTL       = time.Minute
	DefaultTimeout   = 250 * time.Millisecond
	// DefaultGamma is SPEC §6's γ for atrion.MergeGamma.
	DefaultGamma = 0.3
)

// health check and reconnect pacing of the subscription.
const (
	healthEvery = time.Second // a silent subscription is pinged this often
	healthMiss  = 3           // unanswered pings before it is dropped and redialled
	backoffMin  = 50 * time.Millisecond
	backoffMax  = time.Second
)

// Option configures a Provider in New.
type Option func(*config)

type config struct {
	prefix  string
	channel string
	ttl     time.Duration
	timeout time.Duration
	merge   func(local, remote atrion.PhysicsVector) atrion.PhysicsVector
	logger  *slog.Logger
	health  time.Duration // healthEvery; shorter in tests
	// bans (bans.go)
	banPrefix, banChannel string
}

func defaultConfig() config {
	return config{
		prefix: DefaultKeyPrefix, channel: DefaultChannel, ttl: DefaultTTL,
		timeout: DefaultTimeout, merge: atrion.MergeLastWriterWins, health: healthEvery,
		banPrefix: DefaultBanPrefix, banChannel: DefaultBanChannel,
	}
}

func (c *config) validate() error {
	if err := c.validateBans(); err != nil {
		return err
	}
	switch {
	case c.prefix == "":
		return fieldErr("WithKeyPrefix", c.prefix, "must not be empty (the provider would scan every key)")
	case c.channel == "":
		return fieldErr("WithChannel", c.channel, "must not be empty")
	case c.ttl < time.Millisecond:
		return fieldErr("WithTTL", c.ttl, "must be at least 1ms")
	case c.timeout <= 0 || c.timeout > time.Minute:
		return fieldErr("WithTimeout", c.timeout, "must be > 0 and at most 1m")
	case c.merge == nil:
		return fieldErr("WithMerge", "nil", "must not be nil")
	}
	return nil
}

func fieldErr(field string, v any, why string) error {
	return fmt.Errorf("atrredis: %s(%q) %s", field, fmt.Sprint(v), why)
}

// WithKeyPrefix sets the prefix of the keys that hold route state (default
// "atrion:state:"; the key of a route is the prefix followed by the route
// ID's bytes). Applications that share a Redis but not their routes use
// different prefixes: each one also ignores messages on the channel that
// carry another prefix.
func WithKeyPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithChannel sets the pub/sub channel on which each tick's batch is
// announced (default "atrion:sync").
func WithChannel(ch string) Option { return func(c *config) { c.channel = ch } }

// WithTTL sets how long a route's stored state outlives its last update
// (default 1 minute, at least 1 ms). A route no node touches for this long
// disappears from Redis; its scar has long decayed by then.
func WithTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithTimeout bounds every Redis call the provider makes, whatever the
// client's own settings (default 250 ms; the engine also gives each call
// atrion.SyncTimeout). A call that overruns returns an error at once and is
// counted; the client finishes or abandons it in the background.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMerge sets how a peer's vector folds into the local one (default
// atrion.MergeLastWriterWins). The policies of SPEC §6 are
// atrion.MergeLastWriterWins, atrion.MergeGamma(DefaultGamma) (scar blended
// S = γ·S_peer + (1−γ)·S_local) and atrion.MergeMaxScar.
func WithMerge(f func(local, remote atrion.PhysicsVector) atrion.PhysicsVector) Option {
	return func(c *config) { c.merge = f }
}

// WithLogger sets where the provider logs its own problems (a lost
// subscription, garbage on the channel), at most one line per 10 seconds
// (default slog.Default()). Failed calls made by the engine are logged by
// the engine.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
