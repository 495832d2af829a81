package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"time"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrion "github.com/atrion-go/atrion/core"
	atrdash "github.com/atrion-go/atrion/observability/dashboard"
	"github.com/gin-gonic/gin"
)

const (
	clientTimeout = 2 * time.Second // the load generator's patience
	baseWorkers   = 4               // backend workers at scale 1
	backendQueue  = 1000            // requests that may wait for a backend worker
	clientWorkers = 128             // load generator workers per side at scale 1
)

// world is everything the demo runs, all on loopback: two identical
// backends, the protected front (gin + atrgin) and its unprotected twin,
// the dashboard, and the load generator that drives both fronts with the
// same schedule.
type world struct {
	a       *atrion.Atrion
	dash    *atrdash.Dashboard
	faults  *faults
	sides   []*side // 0: with Atrion, 1: without
	load    *loadgen
	dashURL string
	movedTo string // set when the dashboard's default address was taken: why it is elsewhere
	token   string // control token, when -controls
	servers []*http.Server
}

func startWorld(cfg config) (_ *world, err error) {
	w := &world{faults: new(faults)}
	defer func() {
		if err != nil { // w, not the nil that an error returns
			w.close(context.Background())
		}
	}()
	rec := atrdash.NewRecorder(0)
	// the engine's defaults: what a newcomer gets with zero configuration
	// (learned latency baselines, the in-flight limit, the AutoTuner)
	w.a, err = atrion.New(atrion.WithObserver(rec))
	if err != nil {
		return nil, err
	}
	dopts := []atrdash.Option{atrdash.WithRecorder(rec), atrdash.WithTitle("Atrion demo — shop front (gin)")}
	if cfg.controls {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		w.token = hex.EncodeToString(b)
		dopts = append(dopts, atrdash.WithControls(w.token))
	}
	w.dash = atrdash.New(w.a, dopts...)

	gin.SetMode(gin.ReleaseMode)
	workers := max(1, int(math.Round(baseWorkers*cfg.scale)))
	for i, name := range []string{"with Atrion", "without"} {
		beURL, err := w.serve("127.0.0.1:0", newBackend(w.faults, workers, backendQueue))
		if err != nil {
			return nil, err
		}
		var mw gin.HandlerFunc
		if i == 0 {
			// checkout is the shop's revenue: the load generator marks it
			// high priority, so the in-flight limit sheds it last. The
			// header must come from a trusted hop, and here it does: the
			// load generator is this front's edge. A public service must set it at its edge and
			// strip it from outside traffic, or derive priority from the
			// route or an authenticated identity instead.
			mw = atrgin.Middleware(w.a, atrgin.WithPriorityHeader("X-Priority"))
		}
		feURL, err := w.serve("127.0.0.1:0", newFront(beURL, newClient(0), mw))
		if err != nil {
			return nil, err
		}
		w.sides = append(w.sides, newSide(name, feURL, len(script), clientTimeout))
	}
	w.dashURL, err = w.serve(cfg.addr, w.dash)
	if err != nil && !cfg.addrSet { // the default port is taken: any port, and say so
		taken := err
		if w.dashURL, err = w.serve("127.0.0.1:0", w.dash); err == nil {
			w.movedTo = fmt.Sprintf("%s is not free (%v); the dashboard is at %s instead (-addr chooses)",
				cfg.addr, errors.Unwrap(taken), w.dashURL)
		}
	}
	if err != nil {
		return nil, err
	}
	w.load = &loadgen{sides: w.sides, workers: max(8, int(clientWorkers*cfg.scale)), rng: mrand.New(mrand.NewPCG(9, 2026))} // seeded: every run offers the same requests
	return w, nil
}

// serve starts an HTTP server for h on addr and returns its base URL.
func (w *world) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	w.servers = append(w.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// close ends the dashboard's streams, stops every server and the engine.
func (w *world) close(ctx context.Context) error {
	if w.dash != nil {
		w.dash.Close()
	}
	var errs []error
	for _, s := range w.servers {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := s.Shutdown(sctx); err != nil {
			_ = s.Close() // backends may still hold queued work
		}
		cancel()
	}
	if w.a != nil {
		errs = append(errs, w.a.Close(ctx))
	}
	return errors.Join(errs...)
}
