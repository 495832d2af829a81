package atrreplay

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Options configure a Recorder.
type Options struct {
	// Tick is the engine's tick (WithTick). Zero: the Dt of the first
	// tick event, which is always the engine's tick (a route's first
	// event closes its first tick).
	Tick time.Duration
	// Config is the configuration file the engine runs with
	// (atrion.ParseConfig's JSON), stored in the header so that a replay
	// runs with the same settings. Nil: the engine's defaults.
	Config []byte
	// Label is free text for the header (service, host, version), at most
	// 4 KiB.
	Label string
	// FlushEvery is how much engine time a block holds at most, and how
	// long (wall time) buffered records wait when events stop; a crash
	// loses at most that much. Default 1 s.
	FlushEvery time.Duration
	// MaxBytes stops the recording once the file would exceed it; what
	// is not written is counted (RecorderStats.Dropped). Default 1 GiB.
	MaxBytes int64
	// MaxRoutes bounds the route names interned; events of further
	// routes are dropped and counted. Default 100,000.
	MaxRoutes int
}

// Default limits of a Recorder.
const (
	DefaultFlushEvery = time.Second
	DefaultMaxBytes   = 1 << 30
	DefaultMaxRoutes  = 100_000
)

// blockSize is the buffered size at which a block is written at once.
const blockSize = 32 << 10

// RecorderStats are a Recorder's counters.
type RecorderStats struct {
	Ticks, Transitions uint64 // records written (or buffered)
	Routes             int    // route names interned
	Bytes              int64  // bytes written, header included
	Blocks             uint64 // writes made
	// Dropped counts events not recorded: past MaxBytes or MaxRoutes,
	// after a write error, or after Close.
	Dropped uint64
	Err     error // the first write error; recording stopped there
}

// Recorder is an atrion.Observer that writes each route's per-tick
// aggregates and its mode transitions to a compact, append-only file, to
// be replayed (Read, Replay) with other settings. It runs in the
// observer goroutine the engine gives it, never on the request path: a
// tick event costs it an append to a buffer, and a block is written
// every FlushEvery (one Write each). It is safe for concurrent use; give
// each engine its own Recorder.
type Recorder struct {
	mu      sync.Mutex
	w       io.Writer
	closer  io.Closer // Create's file
	o       Options
	tick    int64 // ns; 0 until the header is written
	start   int64 // Unix ns
	routes  map[string]uint32
	last    []int64 // per route: its previous record's time (ns since start)
	buf     enc
	bufFrom int64 // engine time of the buffer's first record (Unix ns)
	timer   *time.Timer
	closed  bool
	stats   RecorderStats
}

// NewRecorder returns a Recorder writing to w. It checks o.Config with
// atrion.ParseConfig, so that the recording can be replayed.
func NewRecorder(w io.Writer, o Options) (*Recorder, error) {
	if o.Config != nil {
		if _, err := atrion.ParseConfig(o.Config); err != nil {
			return nil, fmt.Errorf("atrreplay: Options.Config: %w", err)
		}
	}
	switch {
	case len(o.Label) > maxLabel:
		return nil, fmt.Errorf("atrreplay: Options.Label: %d bytes, more than %d", len(o.Label), maxLabel)
	case o.Tick < 0 || o.Tick > time.Minute:
		return nil, fmt.Errorf("atrreplay: Options.Tick: %v, want 1ms to 1m (0: from the events)", o.Tick)
	case o.FlushEvery < 0 || o.MaxBytes < 0 || o.MaxRoutes < 0:
		return nil, errors.New("atrreplay: Options: FlushEvery, MaxBytes and MaxRoutes must not be negative")
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRoutes == 0 {
		o.MaxRoutes = DefaultMaxRoutes
	}
	return &Recorder{w: w, o: o, routes: map[string]uint32{}}, nil
}

// Create returns a Recorder writing to a new file at path (it refuses to
// overwrite one); Close closes the file.
func Create(path string, o Options) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("atrreplay: %w", err)
	}
	r, err := NewRecorder(f, o)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	r.closer = f
	return r, nil
}

// OnUpdate records a tick event or a transition.
func (r *Recorder) OnUpdate(e atrion.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.stats.Err != nil {
		r.stats.Dropped++
		return
	}
	if r.tick == 0 {
		r.writeHeader(e)
	}
	t := e.Time.UnixNano()
	if len(r.buf) == 0 {
		r.bufFrom = t
	}
	idx, ok := r.route(e.Route)
	if !ok {
		r.stats.Dropped++
		return
	}
	rel := t - r.start
	if rel < -maxOffset || rel > maxOffset {
		r.stats.Dropped++
		return
	}
	switch e.Kind {
	case atrion.EventTick:
		r.appendTick(idx, rel, &e)
		r.stats.Ticks++
	case atrion.EventTransition:
		r.buf.byte1(recTransition)
		r.buf.uvarint(uint64(idx))
		r.buf.uvarint(timeTag(rel, r.last[idx], r.last[idx] != math.MinInt64, r.tick))
		r.buf.byte1(byte(e.From&3)<<2 | byte(e.To&3))
		r.last[idx] = rel
		r.stats.Transitions++
	}
	r.maybeWrite(t)
}

// route returns the interned index of name, defining it in the buffer
// the first time.
func (r *Recorder) route(name string) (uint32, bool) {
	if i, ok := r.routes[name]; ok {
		return i, true
	}
	if len(r.routes) >= r.o.MaxRoutes || len(name) > atrion.MaxRouteIDLen {
		return 0, false
	}
	i := uint32(len(r.last))
	r.routes[name] = i
	r.last = append(r.last, math.MinInt64)
	r.buf.byte1(recRoute)
	r.buf.bytes([]byte(name))
	return i, true
}

// appendTick encodes one tick record (see format.go).
func (r *Recorder) appendTick(idx uint32, t int64, e *atrion.Event) {
	tk := tickOf(e, time.Duration(t))
	prev := r.last[idx]
	flags := byte(tk.Mode)
	explicit := prev == math.MinInt64 || t != prev+r.tick || int64(tk.Dt) != r.tick
	if explicit {
		flags |= tickExplicit
	}
	counts := [...]uint32{tk.Shed, tk.Failed, tk.Ignored, tk.Slow}
	for i, bit := range [...]byte{tickShed, tickFailed, tickIgnored, tickSlow} {
		if counts[i] != 0 {
			flags |= bit
		}
	}
	b := &r.buf
	b.byte1(flags)
	b.uvarint(uint64(idx))
	if explicit {
		b.uvarint(timeTag(t, prev, prev != math.MinInt64, r.tick))
		b.uvarint(dtTag(int64(tk.Dt), r.tick))
	}
	b.uvarint(uint64(tk.Admitted))
	for _, n := range counts {
		if n != 0 {
			b.uvarint(uint64(n))
		}
	}
	b.uvarint(uint64(tk.Succeeded))
	b.uvarint(uint64((tk.Latency + time.Microsecond - 1) / time.Microsecond))
	b.varint(int64(tk.InFlight))
	b.uvarint(fixed(float64(tk.Limit), 4))
	b.uvarint(fixed(float64(tk.Resistance), 100))
	r.last[idx] = t
}

// tickOf is an engine's tick event as a Tick at at (since the start),
// every value clamped to what the format holds.
func tickOf(e *atrion.Event, at time.Duration) Tick {
	c := func(n uint64) uint32 { return uint32(min(n, maxCount)) }
	return Tick{
		At: at, Dt: max(e.Dt, 0), Mode: e.Mode & 3,
		Admitted: c(e.Admitted), Shed: c(e.Shed),
		Succeeded: c(e.Succeeded), Failed: c(e.Failed), Ignored: c(e.Ignored), Slow: c(e.Slow),
		Latency:    min(max(e.Latency, 0), maxLatencyUs*time.Microsecond),
		InFlight:   int32(math.Max(-1e9, math.Min(1e9, math.Round(nan0(e.InFlight))))),
		Limit:      float32(math.Min(nan0(e.Limit), 1e12)),
		Resistance: float32(math.Min(nan0(e.Resistance), 1e12)),
	}
}

func nan0(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// writeHeader writes the magic and the header frame, with the tick from
// o.Tick or the first event. Caller holds mu.
func (r *Recorder) writeHeader(e atrion.Event) {
	r.tick = int64(r.o.Tick)
	if r.tick == 0 {
		r.tick = int64(e.Dt)
	}
	if r.tick < int64(time.Millisecond) || r.tick > int64(time.Minute) {
		r.tick = int64(100 * time.Millisecond) // the engine's default; times off its grid are written raw
	}
	r.start = e.Time.UnixNano() - int64(e.Dt)
	if e.Time.IsZero() {
		r.start = time.Now().UnixNano()
	}
	h := enc{frameHeader}
	h.uvarint(uint64(r.tick))
	h.varint(r.start)
	h.bytes([]byte(r.o.Label))
	h.bytes(r.o.Config)
	r.write(append(magic[:], frame(h)...))
}

// maybeWrite writes the buffer as a block when it is full or spans
// FlushEvery of engine time, and otherwise makes sure a timer will write
// it. Caller holds mu.
func (r *Recorder) maybeWrite(t int64) {
	if len(r.buf) >= blockSize || t-r.bufFrom >= int64(r.o.FlushEvery) {
		r.writeBlock()
		return
	}
	if r.timer == nil && len(r.buf) > 0 {
		r.timer = time.AfterFunc(r.o.FlushEvery, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.timer = nil
			if !r.closed {
				r.writeBlock()
			}
		})
	}
}

// writeBlock writes the buffered records as one block. Caller holds mu.
func (r *Recorder) writeBlock() {
	if len(r.buf) == 0 || r.tick == 0 || r.stats.Err != nil {
		return
	}
	payload := append(enc{frameBlock}, r.buf...)
	r.buf = r.buf[:0]
	r.write(frame(payload))
}

// write makes one Write of b, unless it would pass MaxBytes; a failed
// write stops the recording (a torn frame must stay the file's last).
func (r *Recorder) write(b []byte) {
	if r.stats.Bytes+int64(len(b)) > r.o.MaxBytes {
		r.stats.Dropped++
		return
	}
	n, err := r.w.Write(b)
	r.stats.Bytes += int64(n)
	r.stats.Blocks++
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		r.stats.Err = fmt.Errorf("atrreplay: write: %w", err)
	}
}

// Reconfigured records that the engine's configuration changed at at
// (a.Now()) to config, a configuration file's JSON: the whole
// configuration after the change, as a reload reads it (a file names the
// whole configuration: what it leaves out is the default). A replay with the recorded
// settings applies it with Update at that time. It is written at once
// (after the header, which waits for the first event).
func (r *Recorder) Reconfigured(at time.Time, config []byte) error {
	if _, err := atrion.ParseConfig(config); err != nil {
		return fmt.Errorf("atrreplay: Reconfigured: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.stats.Err != nil {
		return errors.New("atrreplay: Reconfigured: the recorder has stopped")
	}
	r.buf.byte1(recConfig)
	r.buf.varint(at.UnixNano())
	r.buf.bytes(config)
	if r.tick != 0 {
		r.writeBlock()
	}
	return r.stats.Err
}

// Flush writes what is buffered.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writeBlock()
	return r.stats.Err
}

// Close writes what is buffered and stops the recording; events after it
// are dropped. It closes the file of Create. Close the engine first, so
// that its last events are in.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.stats.Err
	}
	// the flush timer is left to fire: it finds the recorder closed. (A
	// timer started in a synctest bubble, as in the Wind Tunnel, must not
	// be stopped from outside it.)
	if r.tick == 0 && r.stats.Err == nil {
		r.writeHeader(atrion.Event{Dt: r.o.Tick})
	}
	r.writeBlock()
	r.closed = true
	err := r.stats.Err
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("atrreplay: %w", cerr)
		}
	}
	return err
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Routes = len(r.routes)
	return s
}
