// Package redistest starts a real redis-server for tests and benchmarks, on
// a free loopback port, the way net/http/httptest starts an HTTP server.
//
// When the redis-server binary is not on PATH, Start skips the test with a
// message saying so, or fails it when the CI environment variable is set
// (CI must run every test).
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is host:port of the server, the same across Restart.
	Addr string

	tb   testing.TB
	bin  string
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startWait bounds how long a server may take to answer PING.
const startWait = 5 * time.Second

// Start runs redis-server on a free 127.0.0.1 port with persistence off
// and its working directory in tb.TempDir(), and stops it when the test
// ends. extra arguments are appended to the command line.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("redistest: redis-server not on PATH and CI is set (.ci/run installs it): %v", err)
		}
		tb.Skipf("redistest: redis-server not on PATH; install it (e.g. apt-get install redis-server) to run this test")
	}
	dir := tb.TempDir()
	var lastErr error
	for range 5 { // a free port may be taken between probe and bind
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), tb: tb, bin: bin}
		s.args = append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "no",
		}, extra...)
		if lastErr = s.start(); lastErr == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("redistest: %s already running", s.Addr)
	}
	cmd := exec.Command(s.bin, s.args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(startWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.cmd, s.out, s.done = cmd, out, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("no PING reply within %v: %v; output: %s", startWait, err, out.String())
		}
	}
}

// Client returns a go-redis client for the server with short timeouts,
// closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(Options(s.Addr))
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Options are client options with the short timeouts a state provider
// wants: a call to a dead or hung server fails in well under a second.
func Options(addr string) *redis.Options {
	return &redis.Options{
		Addr: addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true, MaxRetries: -1,
	}
}

// Stop kills the server (SIGKILL: no shutdown, no save) and waits for it to
// exit. It is safe to call when the server is already stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server must die too
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port, after Stop. What was
// SAVEd before Stop is loaded again; everything else is gone.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// Pause stops the process (SIGSTOP) so that it accepts connections but
// answers nothing: a hung server. Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// syncBuffer is a bytes.Buffer the process's output copier and Output may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Output is what the server has printed so far, for failure messages.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}
