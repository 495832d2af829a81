package atrgrpc

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	v3orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/orca"
	"google.golang.org/protobuf/proto"
)

// orcaTrailerKey is the trailer that carries a call's ORCA load report
// (gRFC A51), the binary-encoded OrcaLoadReport.
const orcaTrailerKey = "endpoint-load-metrics-bin"

// loadWindowSec is the time constant the reported figures are smoothed
// over: a second, so that one tick's few calls neither zero nor double
// them.
const loadWindowSec = 1.0

// A LoadReporter tells gRPC clients how loaded this server is, in ORCA
// (Open Request Cost Aggregation) load reports, so that a client-side
// balancer (grpc-go's weighted_round_robin, gRFC A58; Envoy's client-side
// weighted round robin) sends fewer calls to a replica that is full or
// shedding:
//
//   - application utilisation: requests in flight ÷ in-flight limit, the
//     highest over the engine's routes (those ReportRoutes keeps), each
//     route read at its tick; 1 is a route at its limit, where it starts
//     to shed;
//   - requests per second: the routes' admission decisions, admitted and
//     rejected alike (every call the server was asked);
//   - errors per second: those that failed (atrion.Failure) or were
//     rejected, which weighted_round_robin weighs against the replica
//     (errorUtilizationPenalty).
//
// Each is smoothed over about the last second. The reporter reads the
// engine once per tick (a.Tick()) in its own goroutine, never per call:
// Close stops it.
//
// The reports reach clients two ways. Register adds grpc-go's ORCA
// out-of-band service (OpenRcaService.StreamCoreMetrics) to a server: a
// client that asks for it (weighted_round_robin with enableOobLoadReport)
// gets a report every 30 s at most, the fastest grpc-go's service allows
// outside its own tests. UnaryServerInterceptor and StreamServerInterceptor
// attach the latest report to every call's trailer (per-call reports,
// weighted_round_robin's default): clients follow the load as fast as
// they call. The report is encoded once per tick; a call pays for setting
// one trailer (grpc.SetTrailer copies the trailer metadata: a few small
// allocations) and its bytes on the wire.
type LoadReporter struct {
	a      *atrion.Atrion
	keep   func(route string) bool
	rec    orca.ServerMetricsRecorder  // what the out-of-band service sends
	report atomic.Pointer[metadata.MD] // per-call trailer; nil until the first tick

	// under mu: the state one tick's reading leaves for the next
	mu             sync.Mutex
	last           map[string]atrion.Totals // by route, at the last reading
	at             time.Time                // of the last reading; zero before the first
	util, rps, eps float64                  // smoothed

	stop, done chan struct{}
	closeOnce  sync.Once
}

// A LoadOption configures a LoadReporter.
type LoadOption func(*LoadReporter)

// ReportRoutes makes the reporter read only the routes keep returns true
// for. By default it reads every route of the engine: set it when the
// engine also guards this server's calls to its own dependencies (client
// interceptors), whose routes say how loaded the dependencies are, not
// this server. A nil keep reads every route.
func ReportRoutes(keep func(route string) bool) LoadOption {
	return func(l *LoadReporter) { l.keep = keep }
}

// NewLoadReporter starts reporting a's load; Close stops it. A nil a
// panics here, when the reporter is built, rather than later.
func NewLoadReporter(a *atrion.Atrion, opts ...LoadOption) *LoadReporter {
	l := newLoadReporter(a, opts)
	l.read(time.Now())
	go l.run()
	return l
}

// newLoadReporter builds a reporter that does not read the engine yet.
func newLoadReporter(a *atrion.Atrion, opts []LoadOption) *LoadReporter {
	if a == nil {
		panic("atrgrpc: NewLoadReporter: nil *atrion.Atrion")
	}
	l := &LoadReporter{a: a, rec: orca.NewServerMetricsRecorder(), last: map[string]atrion.Totals{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	return l
}

// Register adds the ORCA out-of-band service to s (a *grpc.Server), which
// streams the reports to clients that ask for them. Call it once, before
// s.Serve, as for any service.
func (l *LoadReporter) Register(s grpc.ServiceRegistrar) error {
	return orca.Register(s, orca.ServiceOptions{ServerMetricsProvider: l.rec})
}

// ServerMetrics returns the latest report: application utilisation, QPS
// and EPS as the reporter reads them (-1 before the first reading).
func (l *LoadReporter) ServerMetrics() *orca.ServerMetrics { return l.rec.ServerMetrics() }

// UnaryServerInterceptor attaches the latest report to every unary call's
// trailer. Chain it with the server's other interceptors, in any place.
func (l *LoadReporter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if md := l.report.Load(); md != nil {
			_ = grpc.SetTrailer(ctx, *md) // fails only outside a server call
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor attaches the latest report to every stream's
// trailer, as it stands when the stream starts.
func (l *LoadReporter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if md := l.report.Load(); md != nil {
			ss.SetTrailer(*md)
		}
		return handler(srv, ss)
	}
}

// Close stops the reporter's goroutine. The last reports stay in force.
func (l *LoadReporter) Close() {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *LoadReporter) run() {
	defer close(l.done)
	t := time.NewTicker(l.a.Tick())
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			l.read(now)
		}
	}
}

// read takes one reading of the engine at now and updates the reports.
func (l *LoadReporter) read(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var util float64
	var requests, errs uint64
	seen := make(map[string]atrion.Totals, len(l.last))
	for _, s := range l.a.Snapshots() {
		if l.keep != nil && !l.keep(s.Route) {
			continue
		}
		if s.Limit > 0 {
			util = math.Max(util, s.InFlight/s.Limit)
		}
		prev := l.last[s.Route] // a new route counts from zero
		cur := s.Totals
		if cur.Decisions < prev.Decisions { // evicted and tracked anew
			prev = atrion.Totals{}
		}
		requests += cur.Decisions - prev.Decisions
		errs += sub(cur.Failures, prev.Failures) + sub(cur.Rejected.Total(), prev.Rejected.Total())
		seen[s.Route] = cur
	}
	l.last = seen
	first := l.at.IsZero()
	dt := now.Sub(l.at).Seconds()
	l.at = now
	if first || dt <= 0 {
		return // a baseline for the counters; no rate yet
	}
	k := 1 - math.Exp(-dt/loadWindowSec)
	l.util += k * (util - l.util)
	l.rps += k * (float64(requests)/dt - l.rps)
	l.eps += k * (float64(errs)/dt - l.eps)
	l.publish()
}

// sub is a − b, 0 when b is ahead (counters read a moment apart).
func sub(a, b uint64) uint64 { return a - min(a, b) }

// publish stores the smoothed figures for both ways of reporting. Caller
// holds mu.
func (l *LoadReporter) publish() {
	l.rec.SetApplicationUtilization(l.util)
	l.rec.SetQPS(l.rps)
	l.rec.SetEPS(l.eps)
	b, err := proto.Marshal(&v3orcapb.OrcaLoadReport{ApplicationUtilization: l.util, RpsFractional: l.rps, Eps: l.eps})
	if err != nil {
		return // a message of three doubles always encodes
	}
	md := metadata.Pairs(orcaTrailerKey, string(b))
	l.report.Store(&md)
}
