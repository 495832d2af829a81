package atrhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// statusWriter records the status a handler writes. It keeps
// http.Flusher, http.Hijacker and io.ReaderFrom working and unwraps for
// http.ResponseController. Writers are pooled so that the admitted path
// does not allocate.
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
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.w.Write(b)
}

// ReadFrom keeps the underlying writer's io.ReaderFrom (sendfile) in use.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return io.Copy(s.w, src)
}

// Flush flushes the underlying writer when it can.
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.w).Flush()
}

// Hijack hijacks the underlying connection when the writer allows it.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(s.w).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.w }
