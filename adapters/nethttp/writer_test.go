package atrhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// full is a writer with every optional interface a view may have; it
// counts the calls that reach it.
type full struct {
	h                                http.Header
	flushes, hijacks, copies, pushes int
}

func (f *full) Header() http.Header         { return f.h }
func (f *full) Write(b []byte) (int, error) { return len(b), nil }
func (f *full) WriteHeader(int)             {}
func (f *full) Flush()                      { f.flushes++ }
func (f *full) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.hijacks++
	return nil, nil, nil
}
func (f *full) ReadFrom(r io.Reader) (int64, error)  { f.copies++; return io.Copy(io.Discard, r) }
func (f *full) Push(string, *http.PushOptions) error { f.pushes++; return nil }

// has returns the optional interfaces w has, as view bits.
func has(w http.ResponseWriter) int {
	bits := 0
	if _, ok := w.(http.Flusher); ok {
		bits |= canFlush
	}
	if _, ok := w.(http.Hijacker); ok {
		bits |= canHijack
	}
	if _, ok := w.(io.ReaderFrom); ok {
		bits |= canReadFrom
	}
	if _, ok := w.(http.Pusher); ok {
		bits |= canPush
	}
	return bits
}

// For each of the 16 sets of optional interfaces, a writer that has
// exactly that set gets a view with exactly that set, whose methods reach
// it, without allocating.
func TestViewsMatchTheWrappedWriter(t *testing.T) {
	for bits := range 16 {
		f := &full{h: http.Header{}}
		under := (&statusWriter{w: f}).viewOf(bits) // a writer with exactly bits
		if got := has(under); got != bits {
			t.Fatalf("viewOf(%04b) has %04b", bits, got)
		}
		sw := getWriter(under)
		v := sw.view()
		if got := has(v); got != bits {
			t.Errorf("writer with %04b: the handler's view has %04b", bits, got)
		}
		if u := v.(interface{ Unwrap() http.ResponseWriter }).Unwrap(); u != under {
			t.Errorf("%04b: Unwrap does not return the wrapped writer", bits)
		}
		if fl, ok := v.(http.Flusher); ok {
			fl.Flush()
		}
		if hj, ok := v.(http.Hijacker); ok {
			hj.Hijack()
		}
		if rf, ok := v.(io.ReaderFrom); ok {
			rf.ReadFrom(strings.NewReader("x"))
		}
		if p, ok := v.(http.Pusher); ok {
			p.Push("/x", nil)
		}
		reached := 0
		for i, n := range []int{f.flushes, f.hijacks, f.copies, f.pushes} {
			if n == 1 {
				reached |= 1 << i
			}
		}
		if reached != bits {
			t.Errorf("writer with %04b: calls reached %04b", bits, reached)
		}
		if n := testing.AllocsPerRun(100, func() { _ = sw.view() }); n != 0 {
			t.Errorf("writer with %04b: view allocates %v", bits, n)
		}
		putWriter(sw)
	}
}

// A handler that flushes or hijacks has written its status: a 200, and a
// 101 for a hijack.
func TestViewsRecordStatus(t *testing.T) {
	for bits, want := range map[int]int{canFlush: 200, canHijack: 101, canReadFrom: 200} {
		sw := getWriter((&statusWriter{w: &full{h: http.Header{}}}).viewOf(bits))
		switch v := sw.view().(type) {
		case http.Flusher:
			v.Flush()
		case http.Hijacker:
			v.Hijack()
		case io.ReaderFrom:
			v.ReadFrom(strings.NewReader("x"))
		}
		if sw.statusOr200() != want || sw.status == 0 {
			t.Errorf("%04b: status %d, want %d", bits, sw.status, want)
		}
		putWriter(sw)
	}
}
