package main

import (
	"math"
	"sync/atomic"
	"time"
)

// hist is a latency histogram with log-spaced buckets (50 per decade, about
// 5 % wide) from 100 µs to 100 s; safe for concurrent use.
type hist struct {
	b [histBuckets]atomic.Uint64
}

const (
	histPerDecade = 50
	histBuckets   = 6*histPerDecade + 1
	histMin       = 100 * time.Microsecond
)

func (h *hist) add(d time.Duration) {
	i := 0
	if d > histMin {
		i = int(math.Log10(float64(d)/float64(histMin))*histPerDecade) + 1
	}
	h.b[min(i, histBuckets-1)].Add(1)
}

// upper is the upper bound of bucket i.
func upper(i int) time.Duration {
	return time.Duration(float64(histMin) * math.Pow(10, float64(i)/histPerDecade))
}

// quantile returns the q-quantile (0..1) as its bucket's upper bound, or 0
// when empty.
func (h *hist) quantile(q float64) time.Duration {
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= rank && seen > 0 {
			return upper(i)
		}
	}
	return upper(histBuckets - 1)
}

// counters are what the load generator saw on one side over some span.
type counters struct {
	sent     atomic.Uint64 // requests sent
	ok       atomic.Uint64 // 200: served (goodput)
	shed     atomic.Uint64 // 503: rejected by Atrion at once
	failed   atomic.Uint64 // 5xx from the service (dependency failed or too slow)
	timeouts atomic.Uint64 // no answer within the client's timeout
	dropped  atomic.Uint64 // not sent: every client worker was busy
	okLat    hist          // latency of served requests
}

// outcome is one request's result as the load generator classifies it.
type outcome uint8

const (
	outOK outcome = iota
	outShed
	outFailed
	outTimeout
	outDropped
)

func (c *counters) record(o outcome, lat time.Duration) {
	switch o {
	case outOK:
		c.ok.Add(1)
		c.okLat.add(lat)
	case outShed:
		c.shed.Add(1)
	case outFailed:
		c.failed.Add(1)
	case outTimeout:
		c.timeouts.Add(1)
	case outDropped:
		c.dropped.Add(1)
		return // never sent
	}
	c.sent.Add(1)
}

// lost is every request that was offered and not served, shed excepted.
func (c *counters) lost() uint64 {
	return c.failed.Load() + c.timeouts.Load() + c.dropped.Load()
}

// offered is every request the schedule asked for.
func (c *counters) offered() uint64 { return c.sent.Load() + c.dropped.Load() }
