// Package heartbeat keeps a long step talking: a Beat writes a line, such
// as "still compiling: 40 s", whenever nothing else has been written for
// its interval, so that a build or a test run on a cold cache never looks
// hung. The commands that stream a step's output (progress, testsummary)
// write through it.
package heartbeat

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Beat is a writer that speaks up when the output has been silent.
type Beat struct {
	mu     sync.Mutex
	w      io.Writer
	start  time.Time
	last   time.Time // of the last write, ours or the step's
	status func(elapsed time.Duration) string
	stop   chan struct{}
	done   chan struct{}
}

// Start writes to w and, whenever every interval passes with nothing
// written, the line status returns for the time since Start. status is
// called with the Beat's lock held, so it must not write through the
// Beat; it may read state the caller guards with Lock. Stop ends it.
func Start(w io.Writer, every time.Duration, status func(elapsed time.Duration) string) *Beat {
	now := time.Now()
	b := &Beat{w: w, start: now, last: now, status: status, stop: make(chan struct{}), done: make(chan struct{})}
	go b.run(every)
	return b
}

func (b *Beat) run(every time.Duration) {
	defer close(b.done)
	// check often enough that a silence never lasts much past every
	t := time.NewTicker(every / 10)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case now := <-t.C:
			b.mu.Lock()
			if now.Sub(b.last) >= every {
				fmt.Fprintln(b.w, b.status(now.Sub(b.start)))
				b.last = now
			}
			b.mu.Unlock()
		}
	}
}

// Write writes p through and counts as speaking.
func (b *Beat) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = time.Now()
	return b.w.Write(p)
}

// To is a writer to w (the step's stderr, say) that also counts as
// speaking, its writes serialised with the Beat's.
func (b *Beat) To(w io.Writer) io.Writer { return to{b, w} }

type to struct {
	b *Beat
	w io.Writer
}

func (t to) Write(p []byte) (int, error) {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	t.b.last = time.Now()
	return t.w.Write(p)
}

// Lock and Unlock guard state that status reads, so a caller can update
// it between beats.
func (b *Beat) Lock() { b.mu.Lock() }

// Unlock releases what Lock took.
func (b *Beat) Unlock() { b.mu.Unlock() }

// Elapsed is the time since Start.
func (b *Beat) Elapsed() time.Duration { return time.Since(b.start) }

// Stop ends the beats; it returns once none can be written any more.
func (b *Beat) Stop() {
	close(b.stop)
	<-b.done
}

// Seconds formats d as a person reads a step's time: "42 s", "2 min 5 s".
func Seconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}
