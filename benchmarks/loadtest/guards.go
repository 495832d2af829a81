package loadtest

import (
	"context"
	"errors"
	"github.com/atrion-go/atrion/benchmarks/internal/peerconf"
	"net/http"
	"strings"
	"time"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/priority"
	"github.com/gin-gonic/gin"
	"github.com/sony/gobreaker/v2"
)

// This file holds the contestants: each builds the gin middleware that
// guards a front, with the settings its users would give it. The
// generator, as the trusted edge, marks a share of requests
// "X-Priority: critical"; the contestants that know priorities read it.

// PriorityHeader is the header the generator marks critical requests with.
const PriorityHeader = "X-Priority"

// KeyHeader carries a request's client key, in the scenarios with
// tenants. The generator plays the trusted edge that authenticated the
// tenant (an API gateway that checked its API key), so the front may take
// the header as the tenant's identity.
const KeyHeader = "X-Api-Key"

// guard builds a contestant's middleware (nil: none) and a func that
// releases what it holds.
type guard func() (gin.HandlerFunc, func(), error)

// guards are the contestants by name.
var guards = map[string]guard{
	None:      func() (gin.HandlerFunc, func(), error) { return nil, func() {}, nil },
	Atrion:    atrionGuard,
	Failsafe:  failsafeGuard,
	Gobreaker: gobreakerGuard,
}

// Settings describes each contestant's configuration, for the report.
var Settings = map[string]string{
	None:      "no guard",
	Atrion:    "atrgin.Middleware(a, atrgin.WithPriorityHeader(\"X-Priority\"), atrgin.WithClientKey(the X-Api-Key header)) with atrion.New() defaults",
	Failsafe:  "failsafe-go adaptivelimiter defaults, BuildPrioritized (its priority variant: queues up to 2–3× the limit) with one prioritizer calibrated every 1 s; one limiter per front; critical → VeryHigh, others Medium; Drop() on a timeout, Record() otherwise",
	Gobreaker: "sony/gobreaker v2 per route: trip at ≥ 50 % failures of ≥ 20 calls in a 10 s rolling window (1 s buckets); open 5 s; 5 half-open probes; a 5xx answer is a failure",
}

// atrionGuard is Atrion with zero configuration; the front reads the
// priority header and the client key header, since the generator is a
// trusted edge. A request without a key is not judged by key.
func atrionGuard() (gin.HandlerFunc, func(), error) {
	a, err := atrion.New()
	if err != nil {
		return nil, nil, err
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	}
	return atrgin.Middleware(a, atrgin.WithPriorityHeader(PriorityHeader),
		atrgin.WithClientKey(func(c *gin.Context) string { return c.GetHeader(KeyHeader) })), release, nil
}

// failsafeGuard is failsafe-go's adaptive limiter as its documentation
// sets it up for prioritized rejection: defaults, BuildPrioritized with a
// prioritizer calibrated every second. One limiter guards the whole front,
// as failsafehttp.NewHandler does around a handler. A rejection answers
// 429, as failsafehttp does.
func failsafeGuard() (gin.HandlerFunc, func(), error) {
	p := adaptivelimiter.NewPrioritizer()
	ctx, cancel := context.WithCancel(context.Background())
	p.ScheduleCalibrations(ctx, time.Second)
	l := adaptivelimiter.NewBuilder[any]().BuildPrioritized(p)
	mw := func(c *gin.Context) {
		prio := priority.Medium
		if strings.EqualFold(c.GetHeader(PriorityHeader), "critical") {
			prio = priority.VeryHigh
		}
		permit, err := l.AcquirePermitWithPriority(c.Request.Context(), prio)
		if err != nil {
			c.AbortWithStatus(http.StatusTooManyRequests)
			return
		}
		c.Next()
		// as documented: a call cut short by a timeout is dropped, so its
		// duration does not teach the limiter
		if c.Writer.Status() == http.StatusGatewayTimeout || c.Request.Context().Err() != nil {
			permit.Drop()
			return
		}
		permit.Record()
	}
	return mw, cancel, nil
}

// errFailed is what gobreaker is told about a failed call.
var errFailed = errors.New("loadtest: backend call failed")

// gobreakerGuard is one sony/gobreaker v2 breaker per route, with the
// settings the Wind Tunnel gives it: gobreaker's own defaults (trip after
// 6 consecutive failures, open 60 s) suit no HTTP service.
func gobreakerGuard() (gin.HandlerFunc, func(), error) {
	cbs := make(map[string]*gobreaker.TwoStepCircuitBreaker[struct{}], len(Routes))
	for _, r := range Routes {
		path := "/api/" + r
		cbs[path] = gobreaker.NewTwoStepCircuitBreaker[struct{}](peerconf.Gobreaker(path, nil))
	}
	mw := func(c *gin.Context) {
		cb := cbs[c.FullPath()]
		if cb == nil {
			c.Next()
			return
		}
		done, err := cb.Allow()
		if err != nil {
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		}
		c.Next()
		if c.Writer.Status() >= 500 {
			done(errFailed)
			return
		}
		done(nil)
	}
	return mw, func() {}, nil
}
