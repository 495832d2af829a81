package hotpath

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sentinel "github.com/alibaba/sentinel-golang/api"
	sentinelcb "github.com/alibaba/sentinel-golang/core/circuitbreaker"
	sentinelconfig "github.com/alibaba/sentinel-golang/core/config"
	"github.com/atrion-go/atrion/benchmarks/internal/rig"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/go-kratos/aegis/circuitbreaker/sre"
	"github.com/go-kratos/aegis/ratelimit"
	"github.com/go-kratos/aegis/ratelimit/bbr"
	"github.com/sony/gobreaker/v2"
)

// work is one unit of work: decide on one request, report it succeeded. It
// returns false when the request was rejected. i is the caller's iteration
// count (each goroutine keeps its own), used to spread requests over routes.
type work func(i int) bool

// subject is one thing measured: setup builds it (releasing it through
// tb.Cleanup) and returns its unit of work.
type subject struct {
	name  string
	setup func(tb testing.TB) work
}

// subjects are measured in this order; the baseline for ratios is "atrion".
var subjects = []subject{
	{"floor", setupFloor},
	{"atrion", func(tb testing.TB) work { return setupAtrion(tb, 1) }},
	{"atrion-1000routes", func(tb testing.TB) work { return setupAtrion(tb, 1000) }},
	{"atrion-handle", setupAtrionHandle},
	{"atrion-handle-key", func(tb testing.TB) work { return setupAtrionKey(tb, 0) }},
	{"atrion-handle-key-1000bans", func(tb testing.TB) work { return setupAtrionKey(tb, 1000) }},
	{"gobreaker", setupGobreaker},
	{"failsafe-breaker", setupFailsafeBreaker},
	{"failsafe-adaptivelimiter", setupFailsafeLimiter},
	{"aegis-sre", setupAegisSRE},
	{"aegis-bbr", setupAegisBBR},
	{"sentinel", setupSentinel},
}

// floorEpoch plays the engine's epoch: the floor reads the clock the way
// Atrion's system clock does, as time.Since of a fixed instant.
var floorEpoch = time.Now()

// floorCounters are the three shared counters the floor adds to.
type floorCounters struct {
	decisions, successes, latencyNs atomic.Int64
}

func setupFloor(testing.TB) work {
	c := new(floorCounters)
	return func(int) bool {
		start := time.Since(floorEpoch)
		c.decisions.Add(1)
		c.successes.Add(1)
		c.latencyNs.Add(int64(time.Since(floorEpoch) - start))
		return true
	}
}

// setupAtrion measures Admit + Done on an engine set up by rig.Engine.
func setupAtrion(tb testing.TB, routes int) work {
	ids := rig.RouteIDs(routes)
	a := rig.Engine(tb, ids)
	if routes == 1 {
		id := ids[0]
		return func(int) bool { return rig.AdmitDone(a, id) }
	}
	return func(i int) bool { return rig.AdmitDone(a, ids[i%len(ids)]) }
}

// setupAtrionHandle measures Admit + Done through a Handle, the route
// looked up once, as the HTTP adapters do and as the breakers measured here
// are (one instance, no lookup by name).
func setupAtrionHandle(tb testing.TB) work {
	ids := rig.RouteIDs(1)
	h := rig.Engine(tb, ids).Handle(ids[0])
	return func(int) bool {
		t, d := h.Admit(atrion.PriorityNormal)
		if !d.Allowed {
			return false
		}
		t.Done(atrion.Success)
		return true
	}
}

func succeed() (struct{}, error) { return struct{}{}, nil }

func setupGobreaker(testing.TB) work {
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: "hotpath", Timeout: 5 * time.Second})
	return func(int) bool {
		_, err := cb.Execute(succeed)
		return err == nil
	}
}

func setupFailsafeBreaker(testing.TB) work {
	cb := circuitbreaker.NewBuilder[any]().
		WithFailureThresholdRatio(5, 10).
		WithDelay(5 * time.Second).
		Build()
	return func(int) bool {
		if !cb.TryAcquirePermit() {
			return false
		}
		cb.RecordSuccess()
		return true
	}
}

func setupFailsafeLimiter(testing.TB) work {
	l := adaptivelimiter.NewBuilder[any]().Build()
	return func(int) bool {
		p, ok := l.TryAcquirePermit()
		if !ok {
			return false
		}
		p.Record()
		return true
	}
}

func setupAegisSRE(testing.TB) work {
	b := sre.NewBreaker()
	return func(int) bool {
		if b.Allow() != nil {
			return false
		}
		b.MarkSuccess()
		return true
	}
}

func setupAegisBBR(testing.TB) work {
	l := bbr.NewLimiter()
	return func(int) bool {
		done, err := l.Allow()
		if err != nil {
			return false
		}
		done(ratelimit.DoneInfo{})
		return true
	}
}

// sentinelResource is the resource the sentinel subject enters.
const sentinelResource = "hotpath"

// Sentinel is configured once per process (its state is global), with its
// logs in a temporary folder that TestMain removes.
var sentinelInit = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hotpath-sentinel-")
	if err != nil {
		return "", err
	}
	conf := sentinelconfig.NewDefaultConfig()
	conf.Sentinel.App.Name = "atrion-hotpath"
	conf.Sentinel.Log.Dir = dir
	conf.Sentinel.UseCacheTime = true
	if err := sentinel.InitWithConfig(conf); err != nil {
		return dir, fmt.Errorf("sentinel init: %w", err)
	}
	_, err = sentinelcb.LoadRules([]*sentinelcb.Rule{{
		Resource:                     sentinelResource,
		Strategy:                     sentinelcb.ErrorRatio,
		Threshold:                    0.5,
		MinRequestAmount:             100,
		StatIntervalMs:               10_000,
		StatSlidingWindowBucketCount: 10,
		RetryTimeoutMs:               5_000,
	}})
	if err != nil {
		return dir, fmt.Errorf("sentinel rules: %w", err)
	}
	return dir, nil
})

func setupSentinel(tb testing.TB) work {
	if _, err := sentinelInit(); err != nil {
		tb.Fatal(err)
	}
	return func(int) bool {
		e, blocked := sentinel.Entry(sentinelResource)
		if blocked != nil {
			return false
		}
		e.Exit()
		return true
	}
}
