// Command metrics serves an Atrion engine's route state at /metrics for
// Prometheus and logs its mode transitions as JSON lines: the two
// observability paths a service wires up. It simulates traffic on two
// routes, one of which fails for a while in every cycle, so the series
// move and the circuit trips and heals.
//
//	go run . -addr 127.0.0.1:9464
//	curl -s 127.0.0.1:9464/metrics | grep atrion_route_mode
//
// The log (stdout) has one JSON line per transition, from the core's
// slog observer:
//
//	{"time":"…","level":"WARN","msg":"atrion transition","route":"POST /payments","from":"OPERATIONAL","to":"CIRCUIT_OPEN","resistance":101.2,"scar":88.4}
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/sink"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// config is the command line.
type config struct {
	addr     string        // where /metrics listens
	duration time.Duration // how long to run; 0: until interrupted
	tick     time.Duration // the engine's tick; the simulation scales with it
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:9464", "listen address for /metrics")
	flag.DurationVar(&cfg.duration, "duration", 0, "stop after this long (0: run until interrupted)")
	flag.DurationVar(&cfg.tick, "tick", 100*time.Millisecond, "engine tick; the simulated failure cycle lasts 130 ticks")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves /metrics and simulates traffic until ctx is done or the
// duration has passed, logging to out. ready, when set, is called with
// the listening address.
func run(ctx context.Context, cfg config, out io.Writer, ready func(addr string)) error {
	if cfg.duration < 0 {
		return fmt.Errorf("-duration %v: must be ≥ 0", cfg.duration)
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	// one JSON logger for the engine's transitions (Info; Warn when a
	// circuit opens) and its own problems
	logger := slog.New(slog.NewJSONHandler(out, nil))
	a, err := atrion.New(
		atrion.WithTick(cfg.tick),
		atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.8}), // heal within a cycle
		atrion.WithObserver(sink.Slog(logger)),
		atrion.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(a))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	if ready != nil {
		ready(ln.Addr().String())
	}

	simulate(ctx, a, cfg.tick)

	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// The simulated cycle, in ticks: POST /payments fails from failFrom to
// failTo; GET /users/:id is always healthy.
const (
	cycle    = 130
	failFrom = 40
	failTo   = 70
	perTick  = 20 // requests per route per tick
)

// simulate sends traffic until ctx is done.
func simulate(ctx context.Context, a *atrion.Atrion, tick time.Duration) {
	pace := time.NewTicker(max(tick/perTick, time.Millisecond))
	defer pace.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pace.C:
		}
		phase := int(time.Since(start)/tick) % cycle
		serve(a, "GET /users/:id", atrion.Success)
		outcome := atrion.Success
		if phase >= failFrom && phase < failTo {
			outcome = atrion.Failure
		}
		serve(a, "POST /payments", outcome)
	}
}

// serve is one request: admitted, it ends with outcome; rejected, it is
// shed without touching the "service".
func serve(a *atrion.Atrion, route string, outcome atrion.Class) {
	t, d := a.Admit(route, atrion.PriorityNormal)
	if d.Allowed {
		t.Done(outcome)
	}
}
