package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The backend, each front and the generator run as processes of their
// own: Run starts its own executable again with childEnv set to a JSON
// childSpec, and that process's main (or TestMain) hands over to RunChild.
// Each child listens on 127.0.0.1 only, and stops when Run closes its
// stdin, when Run dies (which closes it too), or at its own deadline.

// childEnv tells a process started by Run which role to play.
const childEnv = "ATRION_LOADTEST_CHILD"

// Child roles.
const (
	roleBackend   = "backend"
	roleFront     = "front"
	roleGenerator = "generator"
	// roleHog spins on every core until stopped: another process
	// loading the host, as in the busy-host scenario. The generator
	// starts it at the start of a phase with Hog set and stops it at the
	// phase's end.
	roleHog = "hog"
)

// childSpec is a child's role and settings.
type childSpec struct {
	Role     string        `json:"role"`
	Deadline time.Duration `json:"deadline"` // the child stops by itself after this long
	Backend  *backendSpec  `json:"backend,omitempty"`
	Front    *frontSpec    `json:"front,omitempty"`
	Gen      *genSpec      `json:"gen,omitempty"`
}

// RunChild plays the role of a process that Run started, if this process
// is one, and reports whether it is; the caller should then exit, with a
// failure status if err is not nil. Any executable that runs Run (a
// command, a test binary) must call it before anything else, since Run
// starts that same executable for its backend, fronts and generator.
func RunChild() (child bool, err error) {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return false, nil
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return true, fmt.Errorf("loadtest child: %w", err)
	}
	if spec.Deadline <= 0 {
		return true, errors.New("loadtest child: no deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), spec.Deadline)
	defer cancel()
	go func() { // EOF on stdin: Run is done with us, or gone
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	switch {
	case spec.Role == roleBackend && spec.Backend != nil:
		return true, listenAndServe(ctx, newBackend(*spec.Backend))
	case spec.Role == roleFront && spec.Front != nil:
		h, release, err := newFront(*spec.Front)
		if err != nil {
			return true, err
		}
		defer release()
		return true, listenAndServe(ctx, h)
	case spec.Role == roleHog:
		spin(ctx)
		return true, nil
	case spec.Role == roleGenerator && spec.Gen != nil:
		out, err := generate(ctx, *spec.Gen)
		if err != nil {
			return true, err
		}
		return true, writeJSON(spec.Gen.Out, out)
	}
	return true, fmt.Errorf("loadtest child: bad spec for role %q", spec.Role)
}

// listenAndServe serves h on a free loopback port, which it announces on
// stdout as "listening ADDR", until ctx ends.
func listenAndServe(ctx context.Context, h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	_ = srv.Close()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errors.New("loadtest child: stopped at its deadline")
	}
	return nil
}

// spin keeps every CPU busy with arithmetic until ctx ends.
func spin(ctx context.Context) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	var sink atomic.Uint64
	for range runtime.NumCPU() {
		wg.Go(func() {
			x := uint64(1)
			for !stop.Load() {
				for range 100_000 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			sink.Add(x) // the work has an effect, so it is not optimized away
		})
	}
	<-ctx.Done()
	stop.Store(true)
	wg.Wait()
}

func writeJSON(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// proc is a child process as Run sees it.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	addr   string     // "http://host:port" for servers
	exited chan error // receives cmd.Wait's result once
}

// startChild starts this executable as a child with spec. For a server it
// waits until the child announces its address.
func startChild(ctx context.Context, name string, spec childSpec) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe) // killed if ctx ends first
	// a race-enabled binary (the tests') sleeps 1 s at exit by default
	race := "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw), race)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, stdin: stdin, exited: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		// read all of stdout before Wait, as os/exec requires
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case ready <- addr:
				default:
				}
			}
		}
		p.exited <- cmd.Wait()
	}()
	if spec.Role == roleGenerator || spec.Role == roleHog {
		return p, nil
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case addr := <-ready:
		p.addr = "http://" + addr
		return p, nil
	case err := <-p.exited:
		p.exited <- err
		return nil, fmt.Errorf("%s exited before listening: %v", name, err)
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("%s did not listen within 10 s", name)
	}
}

// wait waits for the child to exit by itself.
func (p *proc) wait() error {
	err := <-p.exited
	p.exited <- err
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return nil
}

// stop asks the child to stop (closing its stdin) and kills it if it has
// not within two seconds.
func (p *proc) stop() error {
	_ = p.stdin.Close()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		return nil
	case <-t.C:
		p.kill()
		return fmt.Errorf("%s did not stop within 2 s; killed", p.name)
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil
}
