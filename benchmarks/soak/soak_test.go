package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/sink"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
)

// duration is the soak's length: ATRION_SOAK, or the smoke run's 25 s.
func duration(t *testing.T) time.Duration {
	s := os.Getenv("ATRION_SOAK")
	if s == "" {
		return 25 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 5*time.Second || d > 24*time.Hour {
		t.Fatalf("ATRION_SOAK=%q: want a duration from 5s to 24h", s)
	}
	return d
}

// sample is what the process holds at one moment.
type sample struct {
	at         time.Duration
	rssMB      float64 // -1 where /proc is missing
	heapMB     float64 // HeapInuse after a collection
	goroutines int
	fds        int // -1 where /proc is missing
	requests   uint64
	shed       uint64
}

func take(at time.Duration, st *stats) sample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return sample{at: at, rssMB: rssMB(), heapMB: float64(m.HeapInuse) / (1 << 20), goroutines: runtime.NumGoroutine(),
		fds: openFDs(), requests: st.requests.Load(), shed: st.shed.Load()}
}

// rssMB reads the resident set from /proc/self/status.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

// stats are the client side's counters.
type stats struct {
	requests, shed, errors, dropped atomic.Uint64
}

// observer counts tick events and what they shed: the engine's own view.
type observer struct{ ticks, shed, transitions atomic.Uint64 }

func (o *observer) OnUpdate(e atrion.Event) {
	switch e.Kind {
	case atrion.EventTick:
		o.ticks.Add(1)
		o.shed.Add(e.Shed)
	case atrion.EventTransition:
		o.transitions.Add(1)
	}
}

// The reloads alternate between two whole configurations (a file names
// the whole configuration: the second puts the first's settings back to
// the defaults).
var configs = [][]byte{
	[]byte(`{"physics": {"breakMultiplier": 8}, "routes": {"GET /work": {"slo": {"baselineLatency": "15ms"}}}, "maxRoutes": 300}`),
	[]byte(`{"maxRoutes": 300}`),
}

func TestSoak(t *testing.T) {
	total := duration(t)
	gin.SetMode(gin.ReleaseMode)
	dir := t.TempDir()
	audit, err := sink.AuditFile(filepath.Join(dir, "audit.jsonl"), 1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	obs := &observer{}
	first, err := atrion.ParseConfig(configs[0])
	if err != nil {
		t.Fatal(err)
	}
	a, err := atrion.New(append(first, atrion.WithObserver(obs), atrion.WithAudit(audit))...)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(a))

	// the service: fast, failing and slow routes, a churning route ID, and
	// /work, whose 8 workers take 10 ms a call: 800 calls a second at most
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	guard := atrgin.Middleware(a,
		atrgin.WithClientKey(func(c *gin.Context) string { return c.GetHeader("X-Key") }),
		atrgin.WithRouteID(func(c *gin.Context) string {
			if n := c.Param("n"); n != "" {
				return "GET /churn/" + n
			}
			return c.Request.Method + " " + c.FullPath()
		}))
	g := r.Group("/", guard)
	g.GET("/ok", func(c *gin.Context) { c.String(200, "ok") })
	g.GET("/fail", func(c *gin.Context) {
		if rand.IntN(10) == 0 {
			c.String(500, "boom")
			return
		}
		c.String(200, "ok")
	})
	g.GET("/slow", func(c *gin.Context) {
		time.Sleep(time.Duration(2+rand.IntN(10)) * time.Millisecond)
		c.String(200, "ok")
	})
	g.GET("/churn/:n", func(c *gin.Context) { c.String(200, "ok") })
	// under the race detector the machine is some ten times slower: a
	// tenth of the capacity and a third of the load keep the same overload
	nWorkers, rate, outstanding := 8, 3000, 1500
	if raceEnabled {
		nWorkers, rate, outstanding = 1, 1000, 500
	}
	workers := make(chan struct{}, nWorkers)
	g.GET("/work", func(c *gin.Context) {
		select {
		case workers <- struct{}{}:
		case <-c.Request.Context().Done():
			return
		}
		time.Sleep(10 * time.Millisecond)
		<-workers
		c.String(200, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	// the open loop's own client: as many connections as calls outstanding,
	// so that the server sees them all
	burst := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}

	// baseline, before any traffic
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), openFDs()

	var st stats
	get := func(c *http.Client, path, key string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if key != "" {
			req.Header.Set("X-Key", key)
		}
		res, err := c.Do(req)
		st.requests.Add(1)
		if err != nil {
			st.errors.Add(1)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests {
			st.shed.Add(1)
		}
	}
	// the overload comes in cycles, a quarter of each overloaded; samples
	// are taken as a cycle begins, after its quiet part, so that they
	// compare like with like
	cycle := 20 * time.Second
	if total < 10*time.Minute {
		cycle = 5 * time.Second
	}
	every := cycle
	if total >= 12*time.Minute {
		every = time.Minute
	}
	start := time.Now()
	ctx, stop := context.WithDeadline(context.Background(), start.Add(total))
	defer stop()
	var wg sync.WaitGroup
	// closed loop: four clients over the routes, keys from a space of
	// 100,000 and churn IDs from 5,000 (past the 300-route cap)
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				key := "k" + strconv.Itoa(rng.IntN(100_000))
				switch rng.IntN(5) {
				case 0:
					get(client, "/ok", key)
				case 1:
					get(client, "/fail", key)
				case 2:
					get(client, "/slow", key)
				case 3:
					get(client, "/churn/"+strconv.Itoa(rng.IntN(5000)), key)
				case 4:
					get(client, "/work", "")
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	// open loop: the first quarter of every cycle at 3,000 calls a second on /work (its
	// workers take 800), whatever the answers, at most 1,500 outstanding:
	// past the in-flight limit the engine learns, so that it sheds
	wg.Go(func() {
		sem := make(chan struct{}, outstanding)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tk.C:
				if now.Sub(start)%cycle >= cycle/4 {
					continue
				}
				for range rate / 100 {
					select {
					case sem <- struct{}{}:
						wg.Go(func() { get(burst, "/work", ""); <-sem })
					default:
						st.dropped.Add(1)
					}
				}
			}
		}
	})
	// live updates every 3 s, and a scrape every second
	var reloads, reloadErrs atomic.Uint64
	wg.Go(func() {
		tk := time.NewTicker(3 * time.Second)
		defer tk.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			opts, err := atrion.ParseConfig(configs[i%2])
			if err == nil {
				err = a.Update(append(opts, atrion.UpdatedBy("soak reload"))...)
			}
			reloads.Add(1)
			if err != nil {
				reloadErrs.Add(1)
			}
		}
	})
	var scrapes, scrapeErrs atomic.Uint64
	wg.Go(func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			res, err := client.Get(base + "/metrics")
			scrapes.Add(1)
			if err != nil || res.StatusCode != 200 {
				scrapeErrs.Add(1)
			}
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
	})

	var samples []sample
	for i := 1; time.Duration(i)*every <= total; i++ {
		// just before the cycle's end: its quiet part
		at := time.Duration(i)*every - every/10
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(at))):
			samples = append(samples, take(at, &st))
			if out := os.Getenv("ATRION_SOAK_OUT"); out != "" {
				os.WriteFile(out, []byte(report(samples)), 0o644) // so far, in case the run is cut short
			}
		}
	}
	wg.Wait()

	// drain: the server and the client's idle connections close
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	client.CloseIdleConnections()
	burst.CloseIdleConnections()
	if err := a.Close(sctx); err != nil {
		t.Error(err)
	}
	auditErrs, lastAuditErr := audit.Errors()
	audit.Close()
	var gEnd, fdEnd int
	for range 50 { // goroutines of closed connections take a moment to end
		runtime.GC()
		if gEnd, fdEnd = runtime.NumGoroutine(), openFDs(); gEnd <= g0+2 && fdEnd <= fd0+2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	table := report(samples)
	t.Logf("soak %v: %d requests (%d shed by the engine, %d client errors, %d open-loop calls not sent), %d reloads (%d refused), %d scrapes (%d failed), %d transitions, audit file errors %d\n%s",
		total, st.requests.Load(), obs.shed.Load(), st.errors.Load(), st.dropped.Load(), reloads.Load(), reloadErrs.Load(),
		scrapes.Load(), scrapeErrs.Load(), obs.transitions.Load(), auditErrs, table)
	if out := os.Getenv("ATRION_SOAK_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}

	es := a.Stats()
	switch {
	case obs.shed.Load() == 0 || st.shed.Load() == 0:
		t.Errorf("the engine never shed (%d in its ticks, %d answers): the overload phases did not overload", obs.shed.Load(), st.shed.Load())
	case es.ObserverPanics+es.ObserverDrops+es.AuditPanics+es.AuditDrops != 0:
		t.Errorf("observer panics %d, drops %d; audit panics %d, drops %d", es.ObserverPanics, es.ObserverDrops, es.AuditPanics, es.AuditDrops)
	case auditErrs != 0:
		t.Errorf("%d audit records not written: %v", auditErrs, lastAuditErr)
	case reloadErrs.Load() != 0 || scrapeErrs.Load() != 0:
		t.Errorf("%d reloads refused, %d scrapes failed", reloadErrs.Load(), scrapeErrs.Load())
	}
	if gEnd > g0+2 {
		t.Errorf("goroutines: %d before the traffic, %d after it stopped", g0, gEnd)
	}
	if fd0 >= 0 && fdEnd > fd0+2 {
		t.Errorf("file descriptors: %d before the traffic, %d after it stopped", fd0, fdEnd)
	}
	flat(t, samples)
}

// flat checks the samples after the warm-up (the first fifth) against the
// first of them. The bounds are for a leak, not for noise: the heap may
// grow by half plus 8 MiB, RSS by half plus 32 MiB (the runtime keeps
// freed spans a while) over the run. A leak of a kilobyte per request
// fails them within a minute at these rates. RSS is not judged under the
// race detector, whose shadow memory and history grow with every
// goroutine the run starts: make soak runs without it.
func flat(t *testing.T, s []sample) {
	warm := len(s) / 5
	if warm+1 >= len(s) {
		t.Fatalf("%d samples: too few to judge", len(s))
	}
	w := s[warm]
	for _, x := range s[warm+1:] {
		if x.heapMB > 1.5*w.heapMB+8 {
			t.Errorf("heap at %v: %.1f MiB, after the warm-up (%v) %.1f MiB", x.at, x.heapMB, w.at, w.heapMB)
		}
		if !raceEnabled && w.rssMB > 0 && x.rssMB > 1.5*w.rssMB+32 {
			t.Errorf("RSS at %v: %.1f MiB, after the warm-up (%v) %.1f MiB", x.at, x.rssMB, w.at, w.rssMB)
		}
	}
}

// report is the samples as a Markdown table.
func report(s []sample) string {
	var b strings.Builder
	b.WriteString("| time | RSS MiB | heap in use MiB | goroutines | FDs | requests | shed answers |\n|---|---|---|---|---|---|---|\n")
	for _, x := range s {
		fmt.Fprintf(&b, "| %v | %.1f | %.1f | %d | %d | %d | %d |\n", x.at, x.rssMB, x.heapMB, x.goroutines, x.fds, x.requests, x.shed)
	}
	return b.String()
}
