package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
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
	Key     uint8         `json:"k,omitempty"` // the scenario's Keys[Key-1]; 0: no key
	Crit    bool          `json:"c,omitempty"`
	Outcome Outcome       `json:"o"`           // of the last attempt
	Tries   uint8         `json:"t,omitempty"` // attempts sent (more than 1 with retries)
	Banned  bool          `json:"b,omitempty"` // an attempt was refused as a banned client key
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
		if len(p.Streams) > 0 {
			out = append(out, streams(rng, &p, uint8(pi), start, end)...)
			start = end
			continue
		}
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

// streams returns the requests of phase p's streams, due in [start, end),
// in due order.
func streams(rng *rand.Rand, p *Phase, pi uint8, start, end time.Duration) []Record {
	var out []Record
	for _, s := range p.Streams {
		for t := start; s.Rate > 0; {
			t += time.Duration(rng.ExpFloat64() / s.Rate * float64(time.Second))
			if t >= end {
				break
			}
			out = append(out, Record{At: t, Phase: pi, Route: uint8(s.Route), Key: uint8(s.Key)})
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return cmp.Compare(a.At, b.At) })
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

	// the CPU hog of the phases that have one (see roleHog); it starts
	// and stops only at phase boundaries, on the phase driver
	var hog *proc
	defer func() {
		if hog != nil {
			_ = hog.stop()
		}
	}()
	setHog := func(on bool) error {
		switch {
		case on && hog == nil:
			p, err := startChild(ctx, roleHog, childSpec{Role: roleHog, Deadline: sc.Duration() + 5*time.Second})
			hog = p
			return err
		case !on && hog != nil:
			err := hog.stop()
			hog = nil
			return err
		}
		return nil
	}
	snapshot := func(i int) error {
		if i < len(sc.Phases) {
			if err := putFaults(ctx, ctl, spec.Backend, sc.Phases[i].Faults); err != nil {
				return err
			}
		}
		s, err := getStats(ctx, ctl, spec.Backend)
		out.Backend = append(out.Backend, s)
		if err != nil {
			return err
		}
		return setHog(i < len(sc.Phases) && sc.Phases[i].Hog)
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
				key := ""
				if r.Key > 0 {
					key = sc.Keys[r.Key-1]
				}
				attempt(ctx, client, urls[r.Route], key, r, sc.Retry, rand.New(rand.NewPCG(spec.Seed, uint64(i))))
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

// attempt sends r to url with client key key (none when empty) and
// records its fate in r: once, or with retry until it is served or the
// retries run out, waiting the retry's jittered backoff (drawn from rng)
// between attempts. It stops retrying when ctx ends.
func attempt(ctx context.Context, client *http.Client, url, key string, r *Record, retry *Retry, rng *rand.Rand) {
	tries := 1
	if retry != nil {
		tries += retry.Max
	}
	for n := range tries {
		var banned bool
		r.Outcome, banned = send(client, url, r.Crit, key)
		r.Tries = uint8(n + 1)
		r.Banned = r.Banned || banned
		if r.Outcome == Served || n+1 == tries {
			return
		}
		backoff := min(retry.Backoff<<n, retry.MaxBackoff)
		if !sleepUntil(ctx, time.Now().Add(time.Duration(rng.Int64N(int64(backoff)+1)))) {
			return
		}
	}
}

// bannedBody is how Atrion's adapters begin the body of a rejection of a
// banned client key (429): a peer's 429 is a plain rejection.
const bannedBody = `{"error":"banned"`

// send makes one request and classifies its answer; banned reports
// whether it was refused as a banned client key.
func send(client *http.Client, url string, crit bool, key string) (o Outcome, banned bool) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return Errored, false
	}
	if crit {
		req.Header.Set(PriorityHeader, "critical")
	}
	if key != "" {
		req.Header.Set(KeyHeader, key)
	}
	res, err := client.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return TimedOut, false
		}
		return Errored, false
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests {
		head := make([]byte, len(bannedBody))
		n, _ := io.ReadFull(res.Body, head)
		banned = string(head[:n]) == bannedBody
	}
	_, _ = io.Copy(io.Discard, res.Body)
	switch res.StatusCode {
	case http.StatusOK:
		return Served, false
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return Shed, banned
	default:
		return Errored, false
	}
}
