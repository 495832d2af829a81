package atrreplay

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"

	"github.com/atrion-go/atrion/core/atriontest"
	"github.com/atrion-go/atrion/core/sink"
)

// script drives one route of an engine on a manual clock through every
// mode: healthy, tripped by failures, healed; with latencies, in-flight
// calls across ticks and a silent stretch. It returns the events the
// engine emitted, collected beside rec.
func script(t testing.TB, rec *Recorder, opts ...atrion.Option) []atrion.Event {
	t.Helper()
	col := sink.NewCollector(100_000)
	a, clk := atriontest.New(t, append([]atrion.Option{atrion.WithObserver(rec), atrion.WithObserver(col)}, opts...)...)
	const route = "GET /users/:id"
	var held []atrion.Ticket
	tick := func(n int, c atrion.Class, lat time.Duration) {
		for i := range n {
			tk, d := a.Admit(route, atrion.PriorityNormal)
			if !d.Allowed {
				continue
			}
			if i%4 == 0 { // a call that ends next tick: in flight across the boundary
				held = append(held, tk)
				continue
			}
			tk.DoneLatency(c, lat)
		}
		clk.Advance(a.Tick())
		for _, h := range held {
			h.DoneLatency(c, lat)
		}
		held = held[:0]
		a.Snapshot(route)
	}
	for range 40 {
		tick(20, atrion.Success, 30*time.Millisecond)
	}
	atriontest.Trip(t, a, clk, route)
	clk.Advance(7 * a.Tick()) // silence: the next tick is closed late, over several ticks
	atriontest.Heal(t, a, clk, route)
	for range 10 {
		tick(20, atrion.Ignored, 2*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return col.Events()
}

func record(t testing.TB, o Options, opts ...atrion.Option) ([]byte, []atrion.Event) {
	t.Helper()
	var buf bytes.Buffer
	rec, err := NewRecorder(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	evs := script(t, rec, opts...)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), evs
}

func TestRecordingReadsBackWhatTheEngineReported(t *testing.T) {
	cfg := []byte(`{"slo": {"baselineLatency": "50ms"}}`)
	file, evs := record(t, Options{Label: "svc a", Config: cfg, FlushEvery: time.Hour})
	rec, err := Read(bytes.NewReader(file), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Tick != 100*time.Millisecond || rec.Label != "svc a" || !bytes.Equal(rec.Config, cfg) || len(rec.Routes) != 1 {
		t.Fatalf("header: tick %v label %q config %q routes %q", rec.Tick, rec.Label, rec.Config, rec.Routes)
	}
	var ticks, trans []atrion.Event
	for _, e := range evs {
		if e.Kind == atrion.EventTick {
			ticks = append(ticks, e)
		} else {
			trans = append(trans, e)
		}
	}
	if len(rec.Ticks) != len(ticks) || len(rec.Transitions) != len(trans) || len(trans) < 3 {
		t.Fatalf("%d ticks and %d transitions read, %d and %d emitted", len(rec.Ticks), len(rec.Transitions), len(ticks), len(trans))
	}
	long := false
	for i, e := range ticks {
		got := rec.Ticks[i]
		at := e.Time.Sub(rec.Start)
		long = long || e.Dt > rec.Tick
		switch {
		case got.At != at || got.Dt != e.Dt || got.Mode != e.Mode:
			t.Fatalf("tick %d: at %v dt %v %v, emitted at %v dt %v %v", i, got.At, got.Dt, got.Mode, at, e.Dt, e.Mode)
		case uint64(got.Admitted) != e.Admitted || uint64(got.Shed) != e.Shed || uint64(got.Succeeded) != e.Succeeded ||
			uint64(got.Failed) != e.Failed || uint64(got.Ignored) != e.Ignored || uint64(got.Slow) != e.Slow:
			t.Fatalf("tick %d counts: %+v, emitted %+v", i, got, e)
		case got.Latency < e.Latency || got.Latency-e.Latency >= time.Microsecond: // rounded up to µs
			t.Fatalf("tick %d latency %v, emitted %v", i, got.Latency, e.Latency)
		case float64(got.InFlight) != e.InFlight || math.Abs(float64(got.Limit)-e.Limit) > 0.125 ||
			math.Abs(float64(got.Resistance)-e.Resistance) > 0.005+1e-4*e.Resistance:
			t.Fatalf("tick %d: in flight %d limit %v R %v, emitted %v %v %v", i, got.InFlight, got.Limit, got.Resistance, e.InFlight, e.Limit, e.Resistance)
		}
	}
	if !long {
		t.Error("the script has no tick longer than the engine's: the explicit timing path is untested")
	}
	for i, e := range trans {
		got := rec.Transitions[i]
		if got.At != e.Time.Sub(rec.Start) || got.From != e.From || got.To != e.To {
			t.Fatalf("transition %d: %+v, emitted %v %v→%v", i, got, e.Time.Sub(rec.Start), e.From, e.To)
		}
	}
}

// A process that dies mid-write leaves a prefix of the file: every prefix
// reads, without a panic, up to its last complete block.
func TestTruncatedRecordingReadsUpToTheLastCompleteBlock(t *testing.T) {
	file, _ := record(t, Options{FlushEvery: 500 * time.Millisecond}) // a block per 5 ticks
	full, err := Read(bytes.NewReader(file), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	prev, complete := 0, 0
	for n := 0; n < len(file); n++ {
		rec, err := Read(bytes.NewReader(file[:n]), Limits{})
		if err == nil {
			complete++ // a prefix that ends at a frame boundary is a whole (shorter) recording
		} else if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotRecording) {
			t.Fatalf("prefix %d: %v, want ErrTruncated", n, err)
		}
		if rec == nil {
			if n > 64 {
				t.Fatalf("prefix %d: no recording (%v)", n, err)
			}
			continue
		}
		if len(rec.Ticks) < prev || len(rec.Ticks) > len(full.Ticks) {
			t.Fatalf("prefix %d: %d ticks, after %d (of %d)", n, len(rec.Ticks), prev, len(full.Ticks))
		}
		for i := range rec.Ticks {
			if rec.Ticks[i] != full.Ticks[i] {
				t.Fatalf("prefix %d: tick %d is %+v, in the whole file %+v", n, i, rec.Ticks[i], full.Ticks[i])
			}
		}
		prev = len(rec.Ticks)
	}
	if complete < 10 {
		t.Fatalf("only %d prefixes were whole recordings: the recorder wrote too few blocks to test", complete)
	}
}

// build assembles a file: the magic, then frames of the given payloads.
func build(payloads ...[]byte) []byte {
	out := append([]byte(nil), magic[:]...)
	for _, p := range payloads {
		out = append(out, frame(p)...)
	}
	return out
}

func header(tick uint64) []byte {
	h := enc{frameHeader}
	h.uvarint(tick)
	h.varint(1_700_000_000e9)
	h.bytes(nil)
	h.bytes(nil)
	return h
}

// block is a block of records; each record is built by the functions.
func block(recs ...func(*enc)) []byte {
	b := enc{frameBlock}
	for _, r := range recs {
		r(&b)
	}
	return b
}

func routeRec(name string) func(*enc) {
	return func(e *enc) { e.byte1(recRoute); e.bytes([]byte(name)) }
}

// tickRec is an explicit tick record of route 0 at tick k with the counts given.
func tickRec(route uint64, flags byte, vals ...uint64) func(*enc) {
	return func(e *enc) {
		e.byte1(flags)
		e.uvarint(route)
		for _, v := range vals {
			e.uvarint(v)
		}
	}
}

func TestHostileRecordingsGiveAnErrorNotAPanic(t *testing.T) {
	good := build(header(uint64(100*time.Millisecond)), block(routeRec("GET /a"),
		tickRec(0, tickExplicit, zigzag(int64(100*time.Millisecond))<<1|1, 1<<1, 5, 5, 30_000, 0, 20, 1000)))
	if rec, err := Read(bytes.NewReader(good), Limits{}); err != nil || len(rec.Ticks) != 1 || rec.Ticks[0].Admitted != 5 {
		t.Fatalf("the well-formed base file: %v %+v", err, rec)
	}
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	hugeLen := append(bytes.Clone(magic[:]), binary64(1<<40)...)
	overflow := append(bytes.Clone(magic[:]), bytes.Repeat([]byte{0xff}, 11)...)
	many := [][]byte{header(uint64(100 * time.Millisecond))}
	for range 10 {
		many = append(many, block(routeRec("r")))
	}
	for _, c := range []struct {
		name string
		file []byte
		l    Limits
		want error
		keep int // ticks kept before the damage (-1: no recording)
	}{
		{"empty", nil, Limits{}, ErrNotRecording, -1},
		{"not a recording", []byte("GET / HTTP/1.1\r\n"), Limits{}, ErrNotRecording, -1},
		{"a later version", append(bytes.Clone(magic[:7]), 9), Limits{}, ErrVersion, -1},
		{"magic cut short", magic[:7], Limits{}, ErrTruncated, -1},
		{"no header", magic[:], Limits{}, ErrTruncated, -1},
		{"a frame of 1 TiB", hugeLen, Limits{}, ErrCorrupt, -1},
		{"a length that overflows", overflow, Limits{}, ErrCorrupt, -1},
		{"a frame cut short", good[:len(good)-3], Limits{}, ErrTruncated, 0},
		{"a bad checksum", badCRC, Limits{}, ErrCorrupt, 0},
		{"a block before the header", build(block()), Limits{}, ErrCorrupt, -1},
		{"a tick of 0", build(header(0)), Limits{}, ErrCorrupt, -1},
		{"a tick of a year", build(header(uint64(365 * 24 * time.Hour))), Limits{}, ErrCorrupt, -1},
		{"an unknown frame", build(header(1e8), []byte{'Z', 1, 2}), Limits{}, ErrCorrupt, 0},
		{"an unknown record", build(header(1e8), block(func(e *enc) { e.byte1(0xfe) })), Limits{}, ErrCorrupt, 0},
		{"a tick of an undefined route", build(header(1e8), block(tickRec(3, 0, 1, 1, 0, 0, 0, 0))), Limits{}, ErrCorrupt, 0},
		{"an implicit first tick", build(header(1e8), block(routeRec("r"), tickRec(0, 0, 1, 1, 0, 0, 0, 0))), Limits{}, ErrCorrupt, 0},
		{"a count past 32 bits", build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit, 1, 2, 1<<40))), Limits{}, ErrCorrupt, 0},
		{"a time a century on", build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit, zigzag(100*365*24*3600e9)<<1|1, 2, 1, 1, 0, 0, 0, 0))), Limits{}, ErrCorrupt, 0},
		{"a tick of a century", build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit, 1, 1<<62, 1, 1, 0, 0, 0, 0))), Limits{}, ErrCorrupt, 0},
		{"a record cut inside its block", build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit, 1, 2, 1))), Limits{}, ErrCorrupt, 0},
		{"a route name of 1 MiB", build(header(1e8), block(routeRec(strings.Repeat("x", 1<<20)))), Limits{}, ErrCorrupt, 0},
		{"a label claiming 1 GiB", build(append(append(enc{frameHeader}, binary64(1e8)...), append([]byte{0}, binary64(1<<30)...)...)), Limits{}, ErrCorrupt, -1},
		{"a transition's modes out of range", build(header(1e8), block(routeRec("r"), func(e *enc) { e.byte1(recTransition); e.uvarint(0); e.uvarint(1); e.byte1(0xff) })), Limits{}, ErrCorrupt, 0},
		{"more routes than the limit", build(many...), Limits{MaxRoutes: 5}, ErrTooLarge, 0},
		{"more ticks than the limit", build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit, 1, 2, 1, 1, 0, 0, 0, 0), tickRec(0, 0, 1, 1, 0, 0, 0, 0), tickRec(0, 0, 1, 1, 0, 0, 0, 0))), Limits{MaxTicks: 2}, ErrTooLarge, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := Read(bytes.NewReader(c.file), c.l)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			switch {
			case c.keep < 0 && rec != nil:
				t.Fatalf("a recording from a file with no readable header: %+v", rec)
			case c.keep >= 0 && (rec == nil || len(rec.Ticks) != c.keep):
				t.Fatalf("want the %d ticks before the damage, got %+v", c.keep, rec)
			}
		})
	}
}

func binary64(v uint64) []byte { var e enc; e.uvarint(v); return e }

// A hostile header cannot make Read allocate what it claims.
func TestReadAllocatesWhatIsThereNotWhatIsClaimed(t *testing.T) {
	file := append(bytes.Clone(magic[:]), binary64(maxFrame)...) // a 9 MiB frame, 3 bytes of it present
	file = append(file, 'H', 0, 0)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := Read(bytes.NewReader(file), Limits{}); !errors.Is(err, ErrTruncated) {
			t.Fatal(err)
		}
	})
	var before, after runtimeMem
	before.read()
	for range 20 {
		Read(bytes.NewReader(file), Limits{})
	}
	after.read()
	if per := (after.total - before.total) / 20; per > 1<<20 {
		t.Fatalf("%d bytes allocated per Read of a 20-byte file claiming a 9 MiB frame (%v allocs)", per, allocs)
	}
}

func TestRecorderRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Config: []byte(`{"slo": {"baselineLatncy": "1s"}}`)},
		{Label: strings.Repeat("x", maxLabel+1)},
		{Tick: -time.Second},
		{Tick: time.Hour},
		{MaxBytes: -1},
	} {
		if _, err := NewRecorder(&bytes.Buffer{}, o); err == nil {
			t.Errorf("NewRecorder accepted %+v", o)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestRecorderStopsAtItsLimitsAndOnWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	rec, _ := NewRecorder(&buf, Options{MaxBytes: 600, FlushEvery: 200 * time.Millisecond})
	script(t, rec)
	rec.Close()
	st := rec.Stats()
	if st.Bytes > 600 || int64(buf.Len()) != st.Bytes || st.Dropped == 0 {
		t.Fatalf("MaxBytes 600: %+v, %d bytes in the file", st, buf.Len())
	}
	if _, err := Read(bytes.NewReader(buf.Bytes()), Limits{}); err != nil {
		t.Fatalf("a recording stopped at MaxBytes does not read whole: %v", err)
	}
	fw := &failWriter{n: 2}
	rec, _ = NewRecorder(fw, Options{FlushEvery: 200 * time.Millisecond})
	script(t, rec)
	if err := rec.Close(); err == nil || !strings.Contains(err.Error(), "disk full") || rec.Stats().Dropped == 0 {
		t.Fatalf("a failing writer: Close %v, %+v", err, rec.Stats())
	}
	rec, _ = NewRecorder(&bytes.Buffer{}, Options{MaxRoutes: 1})
	rec.OnUpdate(atrion.Event{Route: "a", Time: time.Unix(1e9, 0), Dt: 100 * time.Millisecond})
	rec.OnUpdate(atrion.Event{Route: "b", Time: time.Unix(1e9, 0), Dt: 100 * time.Millisecond})
	if st := rec.Stats(); st.Routes != 1 || st.Dropped != 1 {
		t.Fatalf("MaxRoutes 1: %+v", st)
	}
}

func TestReconfiguredIsReadBack(t *testing.T) {
	var buf bytes.Buffer
	rec, _ := NewRecorder(&buf, Options{})
	at := time.Unix(1_700_000_000, 0)
	rec.OnUpdate(atrion.Event{Route: "a", Time: at, Dt: 100 * time.Millisecond})
	cfg := []byte(`{"physics": {"scarFactor": 3}}`)
	if err := rec.Reconfigured(at.Add(time.Second), cfg); err != nil {
		t.Fatal(err)
	}
	if err := rec.Reconfigured(at, []byte(`{"bogus": 1}`)); err == nil {
		t.Fatal("Reconfigured accepted a bad configuration")
	}
	rec.Close()
	r, err := Read(bytes.NewReader(buf.Bytes()), Limits{})
	if err != nil || len(r.Reconfigs) != 1 || !bytes.Equal(r.Reconfigs[0].Config, cfg) || r.Reconfigs[0].At != time.Second+100*time.Millisecond {
		t.Fatalf("%v %+v", err, r)
	}
}
