package atrhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// statusWriter records the status a handler writes. Writers are pooled so
// that the admitted path does not allocate. The handler is given a view
// of it (see view) that has exactly the optional interfaces of the writer
// it wraps, so that a handler asking w.(http.Flusher) or w.(http.Hijacker)
// learns what the server can really do; every view unwraps for
// http.ResponseController.
type statusWriter struct {
	w      http.ResponseWriter
	status int
}

var writers = sync.Pool{New: func() any { return new(statusWriter) }}

func getWriter(w http.ResponseWriter) *statusWriter {
	sw := writers.Get().(*statusWriter)
	sw.w, sw.status = w, 0
	return sw
}

func putWriter(sw *statusWriter) {
	sw.w = nil
	writers.Put(sw)
}

func (s *statusWriter) statusOr200() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Header returns the underlying writer's header map.
func (s *statusWriter) Header() http.Header { return s.w.Header() }

// WriteHeader records the first final status (1xx other than 101 are
// informational and may come before it).
func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && (code >= 200 && code <= 999 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
	s.w.WriteHeader(code)
}

// Write writes to the underlying writer; a write before WriteHeader is a 200.
func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote()
	return s.w.Write(b)
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.w }

func (s *statusWriter) wrote() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
}

func (s *statusWriter) flush() {
	s.wrote()
	s.w.(http.Flusher).Flush()
}

func (s *statusWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return s.w.(http.Hijacker).Hijack()
}

func (s *statusWriter) readFrom(src io.Reader) (int64, error) {
	s.wrote()
	return s.w.(io.ReaderFrom).ReadFrom(src)
}

func (s *statusWriter) push(target string, opts *http.PushOptions) error {
	return s.w.(http.Pusher).Push(target, opts)
}

// The optional interfaces a view may have, one bit each.
const (
	canFlush = 1 << iota
	canHijack
	canReadFrom
	canPush
)

// view returns sw as an http.ResponseWriter with the optional interfaces
// (http.Flusher, http.Hijacker, io.ReaderFrom, http.Pusher) that sw's
// writer has, and no others. Each view type is a struct of one pointer,
// which an interface holds without allocating. The views are built up bit
// by bit: a view embeds the view without its highest bit and adds that
// bit's method.
func (s *statusWriter) view() http.ResponseWriter {
	var bits int
	if _, ok := s.w.(http.Flusher); ok {
		bits |= canFlush
	}
	if _, ok := s.w.(http.Hijacker); ok {
		bits |= canHijack
	}
	if _, ok := s.w.(io.ReaderFrom); ok {
		bits |= canReadFrom
	}
	if _, ok := s.w.(http.Pusher); ok {
		bits |= canPush
	}
	return s.viewOf(bits)
}

// viewOf returns the view with the optional interfaces in bits.
func (s *statusWriter) viewOf(bits int) http.ResponseWriter {
	switch bits {
	case 0:
		return v0{s}
	case canFlush:
		return vF{v0{s}}
	case canHijack:
		return vH{v0{s}}
	case canHijack | canFlush:
		return vHF{vF{v0{s}}}
	case canReadFrom:
		return vR{v0{s}}
	case canReadFrom | canFlush:
		return vRF{vF{v0{s}}}
	case canReadFrom | canHijack:
		return vRH{vH{v0{s}}}
	case canReadFrom | canHijack | canFlush:
		return vRHF{vHF{vF{v0{s}}}}
	case canPush:
		return vP{v0{s}}
	case canPush | canFlush:
		return vPF{vF{v0{s}}}
	case canPush | canHijack:
		return vPH{vH{v0{s}}}
	case canPush | canHijack | canFlush:
		return vPHF{vHF{vF{v0{s}}}}
	case canPush | canReadFrom:
		return vPR{vR{v0{s}}}
	case canPush | canReadFrom | canFlush:
		return vPRF{vRF{vF{v0{s}}}}
	case canPush | canReadFrom | canHijack:
		return vPRH{vRH{vH{v0{s}}}}
	default:
		return vPRHF{vRHF{vHF{vF{v0{s}}}}}
	}
}

// v0 is the view with no optional interface: Header, Write, WriteHeader
// and Unwrap, from the statusWriter.
type v0 struct{ *statusWriter }

// The views that add http.Flusher.
type vF struct{ v0 }

// Flush flushes the underlying writer.
func (v vF) Flush() { v.flush() }

// The views that add http.Hijacker.
type (
	vH  struct{ v0 }
	vHF struct{ vF }
)

// Hijack hijacks the underlying connection.
func (v vH) Hijack() (net.Conn, *bufio.ReadWriter, error) { return v.hijack() }

// Hijack hijacks the underlying connection.
func (v vHF) Hijack() (net.Conn, *bufio.ReadWriter, error) { return v.hijack() }

// The views that add io.ReaderFrom (sendfile stays in use).
type (
	vR   struct{ v0 }
	vRF  struct{ vF }
	vRH  struct{ vH }
	vRHF struct{ vHF }
)

// ReadFrom copies src with the underlying writer's ReadFrom.
func (v vR) ReadFrom(src io.Reader) (int64, error) { return v.readFrom(src) }

// ReadFrom copies src with the underlying writer's ReadFrom.
func (v vRF) ReadFrom(src io.Reader) (int64, error) { return v.readFrom(src) }

// ReadFrom copies src with the underlying writer's ReadFrom.
func (v vRH) ReadFrom(src io.Reader) (int64, error) { return v.readFrom(src) }

// ReadFrom copies src with the underlying writer's ReadFrom.
func (v vRHF) ReadFrom(src io.Reader) (int64, error) { return v.readFrom(src) }

// The views that add http.Pusher (HTTP/2 server push).
type (
	vP    struct{ v0 }
	vPF   struct{ vF }
	vPH   struct{ vH }
	vPHF  struct{ vHF }
	vPR   struct{ vR }
	vPRF  struct{ vRF }
	vPRH  struct{ vRH }
	vPRHF struct{ vRHF }
)

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vP) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPF) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPH) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPHF) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPR) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPRF) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPRH) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }

// Push initiates an HTTP/2 server push on the underlying writer.
func (v vPRHF) Push(target string, opts *http.PushOptions) error { return v.push(target, opts) }
