package loadtest

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// BackendStats are the backend's counters since it started.
type BackendStats struct {
	Arrived   int64 `json:"arrived"`    // calls received
	Served    int64 `json:"served"`     // answered 200 after their service time
	Failed    int64 `json:"failed"`     // answered 500 by an injected error, after their service time
	Full      int64 `json:"full"`       // answered 503 at once: the queue was full
	Abandoned int64 `json:"abandoned"`  // the caller left while queued: no work done
	Wasted    int64 `json:"wasted"`     // served or failed after the caller had left: work for no one
	Hung      int64 `json:"hung"`       // calls to a hanging route
	BusyNanos int64 `json:"busy_nanos"` // worker time spent serving
}

// sub returns s − o, the counts of an interval.
func (s BackendStats) sub(o BackendStats) BackendStats {
	return BackendStats{
		Arrived: s.Arrived - o.Arrived, Served: s.Served - o.Served, Failed: s.Failed - o.Failed,
		Full: s.Full - o.Full, Abandoned: s.Abandoned - o.Abandoned, Wasted: s.Wasted - o.Wasted,
		Hung: s.Hung - o.Hung, BusyNanos: s.BusyNanos - o.BusyNanos,
	}
}

// backendStats are BackendStats as they are counted.
type backendStats struct {
	arrived, served, failed, full, abandoned, wasted, hung atomic.Int64
	busy                                                   busyTime
}

func (s *backendStats) load() BackendStats {
	return BackendStats{
		Arrived: s.arrived.Load(), Served: s.served.Load(), Failed: s.failed.Load(), Full: s.full.Load(),
		Abandoned: s.abandoned.Load(), Wasted: s.wasted.Load(), Hung: s.hung.Load(), BusyNanos: s.busy.total(),
	}
}

// busyTime integrates the number of busy workers over time, counting
// work in progress up to now, so that an interval's busy time is exact
// even when calls are long.
type busyTime struct {
	mu        sync.Mutex
	done      time.Duration // of finished work
	n         int64         // calls in service
	sumStarts time.Duration // of calls in service, since epoch
	epoch     time.Time
}

func (b *busyTime) start() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := time.Since(b.epoch)
	b.n++
	b.sumStarts += t
	return t
}

func (b *busyTime) end(started time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	b.sumStarts -= started
	b.done += time.Since(b.epoch) - started
}

func (b *busyTime) total() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(b.done + time.Duration(b.n)*time.Since(b.epoch) - b.sumStarts)
}

// backendSpec configures the backend process.
type backendSpec struct {
	Workers int                        `json:"workers"`
	Service [len(Routes)]time.Duration `json:"service"` // by route
	Queue   int                        `json:"queue"`
	MaxHang time.Duration              `json:"max_hang"` // a hanging call answers after this if its caller stays
}

// backend models a dependency such as a database: one pool of workers
// shared by every route, a bounded FIFO queue in front of it, and a
// service time for each route that is slept, so capacity does not depend on the CPU. A
// caller that leaves while queued is dropped, as a Go server waiting on
// its request's context does; work that has started runs to its end, so a
// caller that leaves then wastes it.
type backend struct {
	spec     backendSpec
	pool     chan struct{}
	inSystem atomic.Int64 // calls queued or in service
	faults   atomic.Pointer[[len(Routes)]Fault]
	stats    backendStats
	mux      *http.ServeMux
}

// Backend control paths: the generator sets each phase's faults and reads
// the counters at each phase's start.
const (
	faultsPath = "/_control/faults"
	statsPath  = "/_control/stats"
)

func newBackend(spec backendSpec) *backend {
	b := &backend{spec: spec, pool: make(chan struct{}, spec.Workers), mux: http.NewServeMux()}
	b.stats.busy.epoch = time.Now()
	b.faults.Store(new([len(Routes)]Fault))
	for i, r := range Routes {
		b.mux.HandleFunc("GET /dep/"+r, func(w http.ResponseWriter, req *http.Request) { b.serve(i, w, req) })
	}
	b.mux.HandleFunc("PUT "+faultsPath, b.setFaults)
	b.mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(b.stats.load())
	})
	return b
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.mux.ServeHTTP(w, r) }

func (b *backend) setFaults(w http.ResponseWriter, r *http.Request) {
	var f [len(Routes)]Fault
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.faults.Store(&f)
	w.WriteHeader(http.StatusNoContent)
}

func (b *backend) serve(route int, w http.ResponseWriter, r *http.Request) {
	b.stats.arrived.Add(1)
	f := b.faults.Load()[route]
	ctx := r.Context()
	if f.Hang {
		// a dependency that never answers, e.g. a third-party API behind
		// this route: it holds the caller, not the shared pool
		b.stats.hung.Add(1)
		t := time.NewTimer(b.spec.MaxHang)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		http.Error(w, "hung", http.StatusGatewayTimeout)
		return
	}
	// a call holds a place from arrival to answer: Workers in service,
	// Queue waiting
	if b.inSystem.Add(1) > int64(b.spec.Workers+b.spec.Queue) {
		b.inSystem.Add(-1)
		b.stats.full.Add(1)
		http.Error(w, "backend queue full", http.StatusServiceUnavailable)
		return
	}
	defer b.inSystem.Add(-1)
	select { // a channel's blocked senders are served in FIFO order
	case b.pool <- struct{}{}:
	case <-ctx.Done():
		b.stats.abandoned.Add(1)
		return
	}
	started := b.stats.busy.start()
	time.Sleep(b.spec.Service[route] + f.Extra)
	b.stats.busy.end(started)
	<-b.pool
	if ctx.Err() != nil {
		b.stats.wasted.Add(1)
	}
	if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
		b.stats.failed.Add(1)
		http.Error(w, "dependency failed", http.StatusInternalServerError)
		return
	}
	b.stats.served.Add(1)
	_, _ = w.Write([]byte("ok"))
}

// putFaults sets the backend's faults.
func putFaults(ctx context.Context, c *http.Client, base string, f [len(Routes)]Fault) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return control(ctx, c, http.MethodPut, base+faultsPath, body, nil)
}

// getStats reads the backend's counters.
func getStats(ctx context.Context, c *http.Client, base string) (BackendStats, error) {
	var s BackendStats
	err := control(ctx, c, http.MethodGet, base+statsPath, nil, &s)
	return s, err
}
