package main

import (
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// faults are the knobs the phases turn. They are shared by both backends,
// so the protected and the unprotected side see the same trouble.
type faults struct {
	recoErrRate atomic.Uint64 // share of recommendation calls that fail, in 1/1000
	recoHang    atomic.Int64  // how long a failing recommendation call hangs first (ns)
}

func (f *faults) set(errRate float64, hang time.Duration) {
	f.recoErrRate.Store(uint64(errRate * 1000))
	f.recoHang.Store(int64(hang))
}

// backend models a service with a fixed pool of workers (think database
// connections). A request waits for a worker, holds it for its service
// time and returns it. Overload therefore shows up as queueing latency,
// and a dependency that hangs holds workers that other endpoints need.
// Like many real servers it does not notice a caller that gave up: queued
// work for a caller that timed out is still done (wasted work). The queue
// is bounded; beyond it the backend answers 503 at once.
type backend struct {
	f       *faults
	workers chan struct{}
	waiting atomic.Int64
	maxWait int64
	mux     *http.ServeMux
}

// backend service times per endpoint
const (
	productTime  = 8 * time.Millisecond
	checkoutTime = 20 * time.Millisecond
	recoTime     = 12 * time.Millisecond
)

func newBackend(f *faults, workers, maxQueue int) *backend {
	b := &backend{f: f, workers: make(chan struct{}, workers), maxWait: int64(maxQueue)}
	m := http.NewServeMux()
	m.HandleFunc("GET /products/{id}", b.serve(productTime, nil))
	m.HandleFunc("POST /checkout", b.serve(checkoutTime, nil))
	m.HandleFunc("GET /recommendations", b.serve(recoTime, b.recoFault))
	b.mux = m
	return b
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.mux.ServeHTTP(w, r) }

// recoFault reports whether this recommendation call fails, and how long
// it hangs first.
func (b *backend) recoFault() (bool, time.Duration) {
	rate := b.f.recoErrRate.Load()
	if rate == 0 || rand.Uint64N(1000) >= rate {
		return false, 0
	}
	return true, time.Duration(b.f.recoHang.Load())
}

func (b *backend) serve(work time.Duration, fault func() (bool, time.Duration)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if b.waiting.Add(1) > b.maxWait {
			b.waiting.Add(-1)
			http.Error(w, "backend queue full", http.StatusServiceUnavailable)
			return
		}
		b.workers <- struct{}{} // waits for a worker, caller or no caller
		b.waiting.Add(-1)
		defer func() { <-b.workers }()
		if fault != nil {
			if fail, hang := fault(); fail {
				time.Sleep(hang)
				http.Error(w, "dependency failed", http.StatusInternalServerError)
				return
			}
		}
		time.Sleep(work)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}
}
