package atrreplay

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Recording is a recording read back: its header, its routes, and every
// tick and transition in file order (each route's in time order; routes'
// records interleave as their ticks closed).
type Recording struct {
	Version int
	Tick    time.Duration
	Start   time.Time // the recording's time origin: records' At count from it
	Label   string
	// Config is the configuration file the engine ran with (nil: its
	// defaults).
	Config      []byte
	Routes      []string // interned names: Tick.Route and Transition.Route index it
	Ticks       []Tick
	Transitions []Transition
	Reconfigs   []Reconfig
	// Silences counts the stretches without records longer than
	// MaxSilence, which Read shortened to it (moving every later record
	// back); SilenceCut is the recorded time they took beyond it.
	Silences   int
	SilenceCut time.Duration
}

// Tick is one route tick as recorded.
type Tick struct {
	At    time.Duration // the tick's end, since Start
	Dt    time.Duration // its length (a silent stretch closed at once is several ticks)
	Route int32
	Mode  atrion.Mode // after the tick
	// requests decided in the tick, and calls that ended in it
	Admitted, Shed                   uint32
	Succeeded, Failed, Ignored, Slow uint32
	Latency                          time.Duration // mean of the tick's timed calls (0: none)
	InFlight                         int32         // at the tick's close
	Limit, Resistance                float32       // the in-flight limit and R after the tick
}

// Demand is the requests decided in the tick: admitted and shed.
func (t *Tick) Demand() uint64 { return uint64(t.Admitted) + uint64(t.Shed) }

// Ended is the calls that ended in the tick, whatever their outcome.
func (t *Tick) Ended() uint64 {
	return uint64(t.Succeeded) + uint64(t.Failed) + uint64(t.Ignored) + uint64(t.Slow)
}

// Transition is one recorded mode change.
type Transition struct {
	At       time.Duration // since Start
	Route    int32
	From, To atrion.Mode
}

// Reconfig is a configuration change the recording saw (Recorder.Reconfigured).
type Reconfig struct {
	At     time.Duration // since Start
	Config []byte
}

// Limits bound what Read keeps, so that a large or hostile file cannot
// exhaust memory. The zero value uses the defaults.
type Limits struct {
	// MaxTicks bounds the ticks and transitions kept (default 4,000,000:
	// about 300 MB, 110 route-hours of 100 ms ticks).
	MaxTicks int
	// MaxRoutes bounds the route names (default 100,000).
	MaxRoutes int
	// Route, when set, keeps only the records of the routes it accepts;
	// the others cost nothing but their names.
	Route func(name string) bool
}

// Default limits of Read.
const (
	DefaultMaxTicks = 4_000_000
	maxConfigTotal  = 64 << 20 // configuration bytes kept, header and changes together
	maxConfig       = 8 << 20  // one configuration (ParseConfig's limit)
)

// Errors Read returns (wrapped, with the byte offset). With ErrTruncated
// and ErrCorrupt the Recording holds every record before the damage,
// which is how a recording whose process died mid-write ends.
var (
	ErrNotRecording = errors.New("atrreplay: not an Atrion recording")
	ErrVersion      = errors.New("atrreplay: unsupported recording version")
	ErrTruncated    = errors.New("atrreplay: recording truncated")
	ErrCorrupt      = errors.New("atrreplay: recording corrupt")
	ErrTooLarge     = errors.New("atrreplay: recording larger than the limits")
)

// ReadFile reads the recording at path (see Read).
func ReadFile(path string, l Limits) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("atrreplay: %w", err)
	}
	defer f.Close()
	return Read(f, l)
}

// Read reads a recording. It checks every frame's CRC and every value's
// bounds; it returns a nil Recording only when r holds no readable
// header. It shortens every silence longer than MaxSilence to it, so that
// what a replay and a report cover is bounded by the records, not by
// times a file claims.
func Read(r io.Reader, l Limits) (*Recording, error) {
	rec, err := read(r, l)
	if rec != nil {
		shortenSilences(rec)
	}
	return rec, err
}

func read(r io.Reader, l Limits) (*Recording, error) {
	if l.MaxTicks <= 0 {
		l.MaxTicks = DefaultMaxTicks
	}
	if l.MaxRoutes <= 0 {
		l.MaxRoutes = DefaultMaxRoutes
	}
	rd := &reader{br: bufio.NewReaderSize(r, 64<<10), l: l}
	var m [8]byte
	n, err := io.ReadFull(rd.br, m[:])
	rd.off += int64(n)
	switch {
	case n == 0 && (err == io.EOF):
		return nil, fmt.Errorf("%w: the file is empty", ErrNotRecording)
	case !bytes.Equal(m[:6], magic[:6]) || (n >= 7 && m[6] != 0):
		return nil, fmt.Errorf("%w: it does not start with %q", ErrNotRecording, magic[:6])
	case err != nil:
		return nil, fmt.Errorf("%w: in the magic", ErrTruncated)
	case m[7] != Version:
		return nil, fmt.Errorf("%w: %d (this reader reads version %d)", ErrVersion, m[7], Version)
	}
	for first := true; ; first = false {
		payload, err := rd.frame()
		if err == io.EOF && !first {
			return rd.rec, nil
		}
		if err == io.EOF {
			err = fmt.Errorf("%w: no header", ErrTruncated)
		}
		if err == nil {
			err = rd.payload(payload, first)
		}
		if err != nil {
			if rd.rec == nil {
				return nil, err
			}
			return rd.rec, err
		}
	}
}

type reader struct {
	br      *bufio.Reader
	l       Limits
	off     int64 // offset of the next byte
	at      int64 // offset of the frame being decoded
	buf     bytes.Buffer
	rec     *Recording
	last    []int64 // per route: its previous record's time (ns since start); MinInt64: none
	keep    []bool  // per route: Limits.Route accepted it
	kept    int     // ticks and transitions kept
	cfgSize int
}

// frame reads one frame's payload; io.EOF at a frame boundary is the end.
func (rd *reader) frame() ([]byte, error) {
	rd.at = rd.off
	n, err := binary.ReadUvarint(&countingByteReader{rd})
	switch {
	case err == io.EOF && rd.off == rd.at:
		return nil, io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, rd.errf(ErrTruncated, "in a frame's length")
	case err != nil:
		return nil, rd.errf(ErrCorrupt, "a frame's length: %v", err)
	case n == 0 || n > maxFrame:
		return nil, rd.errf(ErrCorrupt, "a frame of %d bytes (at most %d)", n, maxFrame)
	}
	rd.buf.Reset()
	got, err := io.CopyN(&rd.buf, rd.br, int64(n)+4) // grows with what is really there
	rd.off += got
	if err != nil {
		return nil, rd.errf(ErrTruncated, "%d of a frame's %d bytes", got, n+4)
	}
	b := rd.buf.Bytes()
	payload, sum := b[:n], binary.LittleEndian.Uint32(b[n:])
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, rd.errf(ErrCorrupt, "checksum mismatch")
	}
	return payload, nil
}

type countingByteReader struct{ rd *reader }

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.rd.br.ReadByte()
	if err == nil {
		c.rd.off++
	}
	return b, err
}

func (rd *reader) errf(kind error, format string, a ...any) error {
	return fmt.Errorf("%w at byte %d: %s", kind, rd.at, fmt.Sprintf(format, a...))
}

// payload decodes a frame: the header first, then blocks.
func (rd *reader) payload(p []byte, first bool) error {
	d := &dec{b: p[1:]}
	switch {
	case first && p[0] == frameHeader:
		return rd.header(d)
	case first:
		return rd.errf(ErrCorrupt, "the first frame is not a header")
	case p[0] == frameBlock:
		for len(d.b) > 0 {
			if err := rd.record(d); err != nil {
				return err
			}
		}
		return nil
	}
	return rd.errf(ErrCorrupt, "a frame of unknown kind %#x", p[0])
}

func (rd *reader) header(d *dec) error {
	tick := d.uvarint()
	start := d.varint()
	label := d.bytes(maxLabel, "the label")
	cfg := d.bytes(maxConfig, "the configuration")
	if d.err != nil {
		return rd.errf(ErrCorrupt, "the header: %v", d.err)
	}
	if tick < uint64(time.Millisecond) || tick > uint64(time.Minute) {
		return rd.errf(ErrCorrupt, "a tick of %v (1ms to 1m)", time.Duration(min(tick, math.MaxInt64)))
	}
	rd.rec = &Recording{Version: Version, Tick: time.Duration(tick), Start: time.Unix(0, start), Label: string(label)}
	if len(cfg) > 0 {
		rd.rec.Config = bytes.Clone(cfg)
		rd.cfgSize = len(cfg)
	}
	return nil
}

// record decodes one record of a block.
func (rd *reader) record(d *dec) error {
	kind := d.byte1()
	var err error
	switch {
	case kind&0x80 == 0:
		err = rd.tick(d, kind)
	case kind == recRoute:
		err = rd.route(d)
	case kind == recTransition:
		err = rd.transition(d)
	case kind == recConfig:
		err = rd.config(d)
	default:
		err = fmt.Errorf("a record of unknown kind %#x", kind)
	}
	if err == nil {
		err = d.err
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w (at byte %d)", err, rd.at)
	case err != nil:
		return rd.errf(ErrCorrupt, "%v", err)
	}
	return nil
}

func (rd *reader) route(d *dec) error {
	name := d.bytes(atrion.MaxRouteIDLen, "a route name")
	if d.err != nil {
		return d.err
	}
	if len(rd.rec.Routes) >= rd.l.MaxRoutes {
		return fmt.Errorf("%w: more than %d routes", ErrTooLarge, rd.l.MaxRoutes)
	}
	s := string(name)
	rd.rec.Routes = append(rd.rec.Routes, s)
	rd.last = append(rd.last, math.MinInt64)
	rd.keep = append(rd.keep, rd.l.Route == nil || rd.l.Route(s))
	return nil
}

// routeIndex reads a route index and checks it names a defined route.
func (rd *reader) routeIndex(d *dec) (int, error) {
	i := d.uvarint()
	if d.err == nil && i >= uint64(len(rd.rec.Routes)) {
		return 0, fmt.Errorf("route %d, of %d defined", i, len(rd.rec.Routes))
	}
	return int(i), d.err
}

// time decodes a time tag against route i's previous record.
func (rd *reader) time(v uint64, i int) (int64, error) {
	tick := int64(rd.rec.Tick)
	if v&1 == 1 {
		t := unzigzag(v >> 1)
		if t < -maxOffset || t > maxOffset {
			return 0, fmt.Errorf("a time %v from the start", time.Duration(t))
		}
		return t, nil
	}
	prev := rd.last[i]
	k := v >> 1
	if prev == math.MinInt64 {
		return 0, errors.New("a time relative to no earlier record of its route")
	}
	if k > uint64(2*maxOffset/tick) || prev+int64(k)*tick > maxOffset {
		return 0, fmt.Errorf("a time %d ticks on", k)
	}
	return prev + int64(k)*tick, nil
}

func (rd *reader) dt(v uint64) (int64, error) {
	n := v >> 1
	if v&1 == 0 {
		n *= uint64(rd.rec.Tick)
		if v>>1 > maxOffset/uint64(rd.rec.Tick) {
			n = maxOffset + 1
		}
	}
	if n > maxOffset {
		return 0, errors.New("a tick longer than ten years")
	}
	return int64(n), nil
}

// count reads one tick count, refusing what no engine counts in a tick.
func count(d *dec, what string) (uint32, error) {
	v := d.uvarint()
	if v > maxCount {
		return 0, fmt.Errorf("%s count %d in one tick", what, v)
	}
	return uint32(v), nil
}

func (rd *reader) tick(d *dec, flags byte) error {
	i, err := rd.routeIndex(d)
	if err != nil {
		return err
	}
	tick := int64(rd.rec.Tick)
	var t, dt int64
	if flags&tickExplicit != 0 {
		if t, err = rd.time(d.uvarint(), i); err != nil {
			return err
		}
		if dt, err = rd.dt(d.uvarint()); err != nil {
			return err
		}
	} else {
		if rd.last[i] == math.MinInt64 || rd.last[i]+tick > maxOffset {
			return errors.New("an implicit time with no earlier record of its route")
		}
		t, dt = rd.last[i]+tick, tick
	}
	tk := Tick{At: time.Duration(t), Dt: time.Duration(dt), Route: int32(i), Mode: atrion.Mode(flags & 3)}
	if tk.Admitted, err = count(d, "an admitted"); err != nil {
		return err
	}
	for _, f := range [...]struct {
		bit  byte
		n    *uint32
		what string
	}{{tickShed, &tk.Shed, "a shed"}, {tickFailed, &tk.Failed, "a failed"}, {tickIgnored, &tk.Ignored, "an ignored"}, {tickSlow, &tk.Slow, "a slow"}} {
		if flags&f.bit != 0 {
			if *f.n, err = count(d, f.what); err != nil {
				return err
			}
		}
	}
	if tk.Succeeded, err = count(d, "a succeeded"); err != nil {
		return err
	}
	tk.Latency = time.Duration(min(d.uvarint(), maxLatencyUs)) * time.Microsecond // a safe clamp: the engine's longest
	tk.InFlight = int32(max(-1e9, min(1e9, d.varint())))
	tk.Limit = float32(float64(d.uvarint()) / 4)
	tk.Resistance = float32(float64(d.uvarint()) / 100)
	rd.last[i] = t
	if d.err != nil || !rd.keep[i] {
		return d.err
	}
	if err := rd.room(); err != nil {
		return err
	}
	rd.rec.Ticks = append(rd.rec.Ticks, tk)
	return nil
}

// room counts one more record kept against MaxTicks.
func (rd *reader) room() error {
	if rd.kept >= rd.l.MaxTicks {
		return fmt.Errorf("%w: more than %d ticks and transitions (Limits.MaxTicks; Limits.Route keeps fewer routes)", ErrTooLarge, rd.l.MaxTicks)
	}
	rd.kept++
	return nil
}

func (rd *reader) transition(d *dec) error {
	i, err := rd.routeIndex(d)
	if err != nil {
		return err
	}
	t, err := rd.time(d.uvarint(), i)
	if err != nil {
		return err
	}
	m := d.byte1()
	if m>>4 != 0 {
		return fmt.Errorf("a transition's modes byte %#x", m)
	}
	rd.last[i] = t
	if d.err != nil || !rd.keep[i] {
		return d.err
	}
	if err := rd.room(); err != nil {
		return err
	}
	rd.rec.Transitions = append(rd.rec.Transitions, Transition{At: time.Duration(t), Route: int32(i), From: atrion.Mode(m >> 2), To: atrion.Mode(m & 3)})
	return nil
}

func (rd *reader) config(d *dec) error {
	at := d.varint() - rd.rec.Start.UnixNano()
	cfg := d.bytes(maxConfig, "a configuration")
	if d.err != nil {
		return d.err
	}
	if at < -maxOffset || at > maxOffset {
		return fmt.Errorf("a configuration change %v from the start", time.Duration(at))
	}
	if rd.cfgSize += len(cfg); rd.cfgSize > maxConfigTotal {
		return fmt.Errorf("%w: more than %d bytes of configuration", ErrTooLarge, maxConfigTotal)
	}
	rd.rec.Reconfigs = append(rd.rec.Reconfigs, Reconfig{At: time.Duration(at), Config: bytes.Clone(cfg)})
	return nil
}
