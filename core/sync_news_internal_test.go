package atrion

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// batchCounter is a BatchSetter that keeps nothing: it counts vectors.
type batchCounter struct {
	*InMemoryProvider
	n int // under the syncer's goroutine; read after Flush
}

func (b *batchCounter) SetBatch(_ context.Context, vs []PhysicsVector) error {
	b.n += len(vs)
	return nil
}

// TestPublishAllocatesNothingPerRoute: once warm, publishing a batch of
// 1,000 routes with news allocates a handful of times per batch (the
// batch's deadline, the flush), never per route: the pending list, the
// vectors and the heartbeat list are reused batch after batch.
func TestPublishAllocatesNothingPerRoute(t *testing.T) {
	const n = 1000
	p := &batchCounter{InMemoryProvider: NewInMemoryProvider(0)}
	a, err := New(WithClock(NewManualClock(time.Unix(1_700_000_000, 0))), WithProvider(p), WithMaxRoutes(n))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	rs := make([]*route, n)
	for i := range rs {
		rs[i] = a.lookup("GET /r/" + strconv.Itoa(i))
	}
	batch := func() {
		for _, r := range rs {
			r.mu.Lock()
			queue := !r.st.queued
			r.st.queued = true
			r.mu.Unlock()
			if queue {
				a.syncer.enqueue(r)
			}
		}
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	batch() // the routes' first publication allocates their sync state
	before := p.n
	allocs := testing.AllocsPerRun(20, batch)
	if got := p.n - before; got != 21*n {
		t.Fatalf("%d vectors published in 21 batches, want %d", got, 21*n)
	}
	if allocs > 16 {
		t.Fatalf("a batch of %d routes allocates %.1f times, want a few per batch and none per route", n, allocs)
	}
	t.Logf("a batch of %d routes: %.1f allocations", n, allocs)
}
