package grpcload

import (
	"context"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// maxInFlight bounds the client's calls in flight; a call due when all
// are taken is dropped, never delayed, so the loop stays open.
const maxInFlight = 3000

// lateSend is how late a call may go out before the run is flagged.
const lateSend = 20 * time.Millisecond

// call is one scheduled call.
type call struct {
	at       time.Duration // when it is due, from the phase's start
	deadline time.Duration // from when it is due
}

// schedule returns a phase's calls: Poisson arrivals at rate per second
// for d, each with deadline short with probability shortShare, else
// long. The same seed and name give the same calls.
func schedule(name string, seed uint64, rate float64, d time.Duration, shortShare float64, short, long time.Duration) []call {
	h := fnv.New64a()
	_, _ = io.WriteString(h, name)
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	var out []call
	for t := time.Duration(0); ; {
		t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
		if t >= d {
			return out
		}
		c := call{at: t, deadline: long}
		if rng.Float64() < shortShare {
			c.deadline = short
		}
		out = append(out, c)
	}
}

// ClassCounts is what became of the calls with one deadline.
type ClassCounts struct {
	Deadline                                   time.Duration
	Sent, Served, Shed, TimedOut, Errors, Drop int
}

// ClientStats is what the client saw of a phase.
type ClientStats struct {
	Classes []ClassCounts // by deadline, shortest first
	// P50 and P99 are the latencies of served calls, from when each was
	// due.
	P50, P99 time.Duration
	// Late counts calls sent more than lateSend after they were due.
	Late int
}

// Total sums the classes.
func (c ClientStats) Total() (t ClassCounts) {
	for _, k := range c.Classes {
		t.Sent += k.Sent
		t.Served += k.Served
		t.Shed += k.Shed
		t.TimedOut += k.TimedOut
		t.Errors += k.Errors
		t.Drop += k.Drop
	}
	return t
}

// outcome is what became of one call.
type outcome uint8

const (
	dropped outcome = iota
	served
	shed
	timedOut
	errored
)

// rejection reports whether err is a guard's rejection: Atrion's
// (Unavailable or ResourceExhausted) or failsafe-go's (its limiter's
// error, which gRPC sends as Unknown).
func rejection(err error) bool {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.ResourceExhausted:
		return true
	case codes.Unknown:
		return st.Message() == adaptivelimiter.ErrExceeded.Error()
	}
	return false
}

// drive sends calls to addr as they fall due, each on a goroutine of its
// own, and returns what became of them.
func drive(ctx context.Context, addr string, calls []call) (ClientStats, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return ClientStats{}, err
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)
	outcomes := make([]outcome, len(calls))
	latencies := make([]time.Duration, len(calls))
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	late := 0
	start := time.Now()
	for i, c := range calls {
		if wait := time.Until(start.Add(c.at)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				wg.Wait()
				return ClientStats{}, ctx.Err()
			}
		}
		due := start.Add(c.at)
		if time.Since(due) > lateSend {
			late++
		}
		select {
		case slots <- struct{}{}:
		default:
			outcomes[i] = dropped
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			cctx, cancel := context.WithDeadline(ctx, due.Add(c.deadline))
			defer cancel()
			_, err := client.UnaryCall(cctx, &testgrpc.SimpleRequest{})
			switch {
			case err == nil:
				outcomes[i], latencies[i] = served, time.Since(due)
			case rejection(err):
				outcomes[i] = shed
			case status.Code(err) == codes.DeadlineExceeded:
				outcomes[i] = timedOut
			default:
				outcomes[i] = errored
			}
		}()
	}
	wg.Wait()
	return tally(calls, outcomes, latencies, late), nil
}

// tally sums the outcomes by deadline.
func tally(calls []call, outcomes []outcome, latencies []time.Duration, late int) ClientStats {
	st := ClientStats{Late: late}
	var lat []time.Duration
	for i, c := range calls {
		j := slices.IndexFunc(st.Classes, func(k ClassCounts) bool { return k.Deadline == c.deadline })
		if j < 0 {
			st.Classes = append(st.Classes, ClassCounts{Deadline: c.deadline})
			j = len(st.Classes) - 1
		}
		k := &st.Classes[j]
		k.Sent++
		switch outcomes[i] {
		case dropped:
			k.Drop++
		case served:
			k.Served++
			lat = append(lat, latencies[i])
		case shed:
			k.Shed++
		case timedOut:
			k.TimedOut++
		default:
			k.Errors++
		}
	}
	slices.SortFunc(st.Classes, func(a, b ClassCounts) int { return int(a.Deadline - b.Deadline) })
	slices.Sort(lat)
	st.P50, st.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return st
}

// quantile returns the q-quantile of sorted (nearest rank), 0 if empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
