package atrgrpc

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/atrion-go/atrion/adapters/internal/adaptertest"
	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// A reading turns the engine's routes into the report: utilisation the
// highest in-flight ÷ limit, requests and errors (failures and
// rejections) per second, smoothed; the routes ReportRoutes leaves out
// count for nothing.
func TestLoadReporterReads(t *testing.T) {
	a, clk := atriontest.New(t, atriontest.Static()...)
	l := newLoadReporter(a, []LoadOption{ReportRoutes(func(r string) bool { return r != "client:/dep.Service/Get" })})
	t0 := clk.Now()
	l.read(t0) // the counters' baseline
	if l.report.Load() != nil {
		t.Fatal("a report before any rate was known")
	}
	for range 10 {
		atriontest.Send(a, "/svc.S/Fast", 40, atrion.Success)
		atriontest.Send(a, "/svc.S/Flaky", 5, atrion.Failure)
		atriontest.Send(a, "client:/dep.Service/Get", 500, atrion.Success)
		clk.Advance(100 * time.Millisecond)
	}
	held, _ := a.Admit("/svc.S/Fast", atrion.PriorityNormal) // one call in flight
	defer held.Done(atrion.Success)
	for i := 1; i <= 30; i++ { // 30 readings a second apart of the same 10 s worth
		l.read(t0.Add(time.Duration(i) * time.Second))
		if i == 1 {
			sm := l.ServerMetrics()
			// 450 decisions in the first second, 50 of them failures
			if math.Abs(sm.QPS-450*(1-math.Exp(-1))) > 1 || math.Abs(sm.EPS-50*(1-math.Exp(-1))) > 1 {
				t.Errorf("after one second: QPS %v, EPS %v; want 450 and 50 smoothed by 1 − 1/e", sm.QPS, sm.EPS)
			}
		}
	}
	sm := l.ServerMetrics()
	s, _ := a.Snapshot("/svc.S/Fast")
	if want := s.InFlight / s.Limit; s.Limit <= 0 || math.Abs(sm.AppUtilization-want) > 1e-6 {
		t.Errorf("utilisation %v, want in flight ÷ limit of the busiest route %v (limit %v)", sm.AppUtilization, want, s.Limit)
	}
	if sm.QPS > 1e-6 || sm.EPS > 1e-6 {
		t.Errorf("29 s without calls: QPS %v, EPS %v; want them decayed to 0", sm.QPS, sm.EPS)
	}
	md := l.report.Load()
	if md == nil || len((*md)[orcaTrailerKey]) != 1 {
		t.Fatalf("per-call report %v", md)
	}
	// a reading at the same instant, or from the past, changes nothing
	before := *l.ServerMetrics()
	l.read(t0)
	if after := *l.ServerMetrics(); after.AppUtilization != before.AppUtilization || after.QPS != before.QPS {
		t.Errorf("a reading back in time changed the report: %+v → %+v", before, after)
	}
}

// trailerStream is a server transport stream that keeps the trailer set
// on it, for the interceptors' tests.
type trailerStream struct {
	grpc.ServerTransportStream
	trailer metadata.MD
}

func (s *trailerStream) SetTrailer(md metadata.MD) error { s.trailer = md; return nil }
func (s *trailerStream) Method() string                  { return "/svc.S/Fast" }

// The per-call interceptor sets the encoded report as the trailer and
// allocates nothing of its own (grpc-go's transport then copies it).
func TestLoadReporterInterceptorAllocs(t *testing.T) {
	adaptertest.SkipAllocsUnderRace(t)
	a, clk := atriontest.New(t)
	l := newLoadReporter(a, nil)
	l.read(clk.Now())
	atriontest.Send(a, "/svc.S/Fast", 10, atrion.Success)
	l.read(clk.Now().Add(time.Second))
	ts := &trailerStream{}
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), ts)
	handler := func(context.Context, any) (any, error) { return nil, nil }
	ic := l.UnaryServerInterceptor()
	if _, err := ic(ctx, nil, &grpc.UnaryServerInfo{}, handler); err != nil {
		t.Fatal(err)
	}
	if got := ts.trailer[orcaTrailerKey]; len(got) != 1 || got[0] == "" {
		t.Fatalf("trailer %v: want one %s", ts.trailer, orcaTrailerKey)
	}
	if n := testing.AllocsPerRun(1000, func() { ic(ctx, nil, &grpc.UnaryServerInfo{}, handler) }); n != 0 {
		t.Errorf("the per-call interceptor allocates %v times a call", n)
	}
}
