package loadtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what became of one scheduled request.
type Outcome uint8

// Outcomes. Only a guard answers 503 or 429 (see newFront), so those are
// shed; any other answer but 200 is an error.
const (
	Dropped  Outcome = iota // never sent: the generator had no free worker
	Served                  // 200
	Shed                    // 503 or 429: the guard rejected it
	Errored                 // any other status, or a failed connection
	TimedOut                // no answer within the generator's client timeout
)

// Record is one scheduled request and its fate.
type Record struct {
	At      time.Duration `json:"a"` // when it was due, from the run's start
	Lag     time.Duration `json:"g"` // how late the generator sent it
	Latency time.Duration `json:"l"` // from when it was due to its answer
	Phase   uint8         `json:"p"`
	Route   uint8         `json:"r"`
	Crit    bool          `json:"c,omitempty"`
	Outcome Outcome       `json:"o"`
}

// schedule returns scenario sc's requests: Poisson arrivals at each
// phase's rate, each on a route drawn by Weights and critical with
// probability critical. The same seed gives the same schedule.
func schedule(sc *Scenario, capacity, critical float64, seed uint64) []Record {
	h := fnv.New64a()
	_, _ = io.WriteString(h, sc.Name)
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	var out []Record
	var start time.Duration
	for pi, p := range sc.Phases {
		rate := p.Load * capacity
		end := start + p.Duration
		for t := start; rate > 0; {
			t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
			if t >= end {
				break
			}
			r := Record{At: t, Phase: uint8(pi), Route: pickRoute(rng.Float64()), Crit: rng.Float64() < critical}
			out = append(out, r)
		}
		start = end
	}
	return out
}

// pickRoute maps u in [0, 1) to a route by Weights.
func pickRoute(u float64) uint8 {
	for i, w := range Weights {
		if u < w {
			return uint8(i)
		}
		u -= w
	}
	return uint8(len(Weights) - 1)
}

// genSpec configures the generator process.
type genSpec struct {
	Front         string        `json:"front"`   // base URL
	Backend       string        `json:"backend"` // base URL, for faults and counters
	Scenario      Scenario      `json:"scenario"`
	Capacity      float64       `json:"capacity"`
	Critical      float64       `json:"critical"`
	Seed          uint64        `json:"seed"`
	Workers       int           `json:"workers"`
	ClientTimeout time.Duration `json:"client_timeout"`
	Out           string        `json:"out"` // file for the genOutput, as JSON
}

// genOutput is what the generator hands back.
type genOutput struct {
	Records []Record `json:"records"`
	// Backend holds the backend's counters at each phase's start and once
	// the last request has been answered: len(phases)+1 snapshots.
	Backend  []BackendStats `json:"backend"`
	Inflight int            `json:"inflight"` // the most requests in flight at once
}

// generate runs the open loop: it sends every scheduled request when due
// from a bounded pool of workers (a request due when no worker is free is
// Dropped, never delayed), sets the backend's faults at each phase's
// start, and returns once every request sent has its answer.
func generate(ctx context.Context, spec genSpec) (*genOutput, error) {
	sc := &spec.Scenario
	recs := schedule(sc, spec.Capacity, spec.Critical, spec.Seed)
	client := &http.Client{Timeout: spec.ClientTimeout, Transport: newTransport()}
	ctl := &http.Client{Timeout: 5 * time.Second}
	out := &genOutput{Records: recs}

	snapshot := func(i int) error {
		if i < len(sc.Phases) {
			if err := putFaults(ctx, ctl, spec.Backend, sc.Phases[i].Faults); err != nil {
				return err
			}
		}
		s, err := getStats(ctx, ctl, spec.Backend)
		out.Backend = append(out.Backend, s)
		return err
	}
	if err := snapshot(0); err != nil {
		return nil, err
	}

	urls := make([]string, len(Routes))
	for i, r := range Routes {
		urls[i] = spec.Front + "/api/" + r
	}
	// inflight counts requests handed to a worker and not yet answered; a
	// request due when all workers are taken is Dropped, so the loop stays
	// open. The buffer lets a hand-off never block, even before a worker
	// goroutine has been scheduled.
	jobs := make(chan int, spec.Workers)
	var inflight atomic.Int64
	var peak int64
	var workers sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond) // the workers start first
	for range spec.Workers {
		workers.Go(func() {
			for i := range jobs {
				r := &recs[i]
				due := start.Add(r.At)
				r.Lag = time.Since(due)
				r.Outcome = send(client, urls[r.Route], r.Crit)
				r.Latency = time.Since(due)
				inflight.Add(-1)
			}
		})
	}

	// the phase driver: faults and counters at each boundary
	phaseErr := make(chan error, 1)
	go func() {
		at := time.Duration(0)
		for i := 1; i < len(sc.Phases); i++ {
			at += sc.Phases[i-1].Duration
			if !sleepUntil(ctx, start.Add(at)) {
				phaseErr <- ctx.Err()
				return
			}
			if err := snapshot(i); err != nil {
				phaseErr <- err
				return
			}
		}
		phaseErr <- nil
	}()

	var err error
	for i := range recs {
		if !sleepUntil(ctx, start.Add(recs[i].At)) {
			err = ctx.Err()
			break
		}
		if inflight.Load() >= int64(spec.Workers) {
			recs[i].Outcome = Dropped
			recs[i].Lag = -1
			continue
		}
		peak = max(peak, inflight.Add(1))
		jobs <- i
	}
	close(jobs)
	workers.Wait()
	if perr := <-phaseErr; err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	if len(out.Backend) != len(sc.Phases) {
		return nil, fmt.Errorf("generator: %d backend snapshots for %d phases", len(out.Backend), len(sc.Phases))
	}
	if err := snapshot(len(sc.Phases)); err != nil {
		return nil, err
	}
	out.Inflight = int(peak)
	return out, nil
}

// sleepUntil sleeps until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	if d := time.Until(t); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		}
	}
	return ctx.Err() == nil
}

// send makes one request and classifies its answer.
func send(client *http.Client, url string, crit bool) Outcome {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return Errored
	}
	if crit {
		req.Header.Set(PriorityHeader, "critical")
	}
	res, err := client.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return TimedOut
		}
		return Errored
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return Served
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return Shed
	default:
		return Errored
	}
}
