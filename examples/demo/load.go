package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// request kinds and their share of the traffic
var kinds = [...]struct {
	method, path string
	weight       int
	priority     string // X-Priority header; only the protected front reads it
}{
	{http.MethodGet, "/api/products/", 60, ""},
	{http.MethodPost, "/api/checkout", 15, "high"},
	{http.MethodGet, "/api/recommendations", 25, ""},
}

// job is one request to send.
type job struct {
	kind, id int
	at       time.Time
}

// side is one front service under load: the protected one or its twin.
type side struct {
	name    string
	url     string
	client  *http.Client
	jobs    chan job
	phases  []*counters // per phase
	window  atomic.Pointer[counters]
	current atomic.Int32 // phase index
}

func newSide(name, url string, nPhases int, timeout time.Duration) *side {
	s := &side{name: name, url: url, client: newClient(timeout), jobs: make(chan job)}
	for range nPhases {
		s.phases = append(s.phases, new(counters))
	}
	s.window.Store(new(counters))
	return s
}

func (s *side) record(o outcome, lat time.Duration) {
	s.phases[s.current.Load()].record(o, lat)
	s.window.Load().record(o, lat)
}

// swapWindow returns the counters since the last swap.
func (s *side) swapWindow() *counters { return s.window.Swap(new(counters)) }

// worker sends jobs until ctx ends. A request in flight then still runs
// to its answer or its timeout, so that it is counted.
func (s *side) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			s.record(s.send(j))
		}
	}
}

func (s *side) send(j job) (outcome, time.Duration) {
	k := kinds[j.kind]
	url := s.url + k.path
	if j.kind == 0 {
		url += fmt.Sprint(j.id)
	}
	req, err := http.NewRequest(k.method, url, nil)
	if err != nil {
		return outFailed, 0
	}
	if k.priority != "" {
		req.Header.Set("X-Priority", k.priority)
	}
	res, err := s.client.Do(req)
	lat := time.Since(j.at)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return outTimeout, lat
		}
		return outFailed, lat
	}
	res.Body.Close()
	switch {
	case res.StatusCode == http.StatusOK:
		return outOK, lat
	case res.StatusCode == http.StatusServiceUnavailable:
		return outShed, lat
	default:
		return outFailed, lat
	}
}

// loadgen sends the same schedule of requests to every side: an open loop
// at the phase's rate, served by a fixed pool of workers per side. When no
// worker of a side is free, that side's request is dropped (counted).
type loadgen struct {
	sides   []*side
	rate    atomic.Uint64 // requests per second per side, ×1000
	workers int
	rng     *rand.Rand
}

func (l *loadgen) setRate(rps float64) { l.rate.Store(uint64(rps * 1000)) }

// run starts the workers and dispatches until ctx ends, then waits for
// the workers (each finishes within its client's timeout).
func (l *loadgen) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range l.sides {
		for range l.workers {
			wg.Go(func() { s.worker(ctx) })
		}
	}
	defer wg.Wait()
	const step = 5 * time.Millisecond
	t := time.NewTicker(step)
	defer t.Stop()
	last, due := time.Now(), 0.0
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due += float64(l.rate.Load()) / 1000 * now.Sub(last).Seconds()
			last = now
			for ; due >= 1; due-- {
				j := job{id: l.rng.IntN(1000), at: now}
				for w := l.rng.IntN(total); w >= kinds[j.kind].weight; j.kind++ {
					w -= kinds[j.kind].weight
				}
				for _, s := range l.sides {
					select {
					case s.jobs <- j:
					default:
						s.record(outDropped, 0)
					}
				}
			}
		}
	}
}
