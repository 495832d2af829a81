package atrreplay

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
)

// The file format, version 1. A recording is an 8-byte magic ("ATRREC",
// a zero byte, the version byte) followed by frames:
//
//	frame  = uvarint n | payload (n bytes) | CRC-32 (IEEE) of payload, 4 bytes little-endian
//	payload = kind byte | body
//
// The first frame is the header ('H'): uvarint tick (ns), varint start
// (Unix ns), uvarint-prefixed label, uvarint-prefixed configuration (the
// JSON of a configuration file, ParseConfig's schema; empty: defaults).
// Every later frame is a block ('B') of records, written with one Write
// each, so a crash loses at most the block being written and the reader
// stops cleanly at the last complete one. Records:
//
//	route       0x80 | uvarint len | name        interned: index = order of definition
//	transition  0x81 | uvarint route | uvarint time | byte from<<2|to
//	config      0x82 | varint Unix ns | uvarint len | JSON   (Recorder.Reconfigured)
//	tick        0b0ettsfmm ...                     (below)
//
// A tick record's first byte: mm the mode after the tick, then one bit
// each for a non-zero shed (s), failed (f), ignored (i; bit 4) and slow
// (t; bit 5) count, and e (bit 6) for explicit timing. Then: uvarint
// route; when e, uvarint time and uvarint dt; uvarint admitted; the shed,
// failed, ignored and slow counts that are flagged; uvarint succeeded;
// uvarint mean latency in µs, rounded up (0: none timed); zigzag in-flight;
// uvarint limit × 4; uvarint R × 100. Without e the tick ends one tick
// after the route's previous record and is one tick long: the common case
// costs no timing bytes.
//
// Times: a time is uvarint v; v even: the route's previous record's time +
// (v/2) ticks; v odd: start + zigzag(v/2) ns (a route's first record, or
// off the tick grid). A dt is uvarint v; even: (v/2) ticks; odd: (v/2) ns.

// Version is the format version this package writes and reads.
const Version = 1

// magic opens every recording; its last byte is the version.
var magic = [8]byte{'A', 'T', 'R', 'R', 'E', 'C', 0, Version}

// Frame kinds and record kinds.
const (
	frameHeader = 'H'
	frameBlock  = 'B'

	recRoute      = 0x80
	recTransition = 0x81
	recConfig     = 0x82

	tickShed     = 1 << 2
	tickFailed   = 1 << 3
	tickIgnored  = 1 << 4
	tickSlow     = 1 << 5
	tickExplicit = 1 << 6
)

// Bounds the reader enforces on any file (and the recorder never
// exceeds), so that a hostile file cannot make it allocate without limit.
const (
	// maxFrame bounds a frame: the header carries at most an 8 MiB
	// configuration (ParseConfig's limit) and a label.
	maxFrame = 9 << 20
	// maxLabel bounds the header's label.
	maxLabel = 4096
	// maxCount bounds one tick's count (the engine's per-tick counters
	// are 32-bit).
	maxCount = math.MaxUint32
	// maxLatencyUs is the engine's longest latency (an hour), in µs.
	maxLatencyUs = 3600 * 1e6
	// maxOffset bounds any time's distance from the start: ten years.
	maxOffset = 10 * 365 * 24 * 3600 * 1e9
)

var crcTable = crc32.MakeTable(crc32.IEEE)

// enc appends the primitives of the format.
type enc []byte

func (e *enc) uvarint(v uint64) { *e = binary.AppendUvarint(*e, v) }
func (e *enc) varint(v int64)   { *e = binary.AppendVarint(*e, v) }
func (e *enc) byte1(b byte)     { *e = append(*e, b) }
func (e *enc) bytes(b []byte)   { e.uvarint(uint64(len(b))); *e = append(*e, b...) }

// timeTag encodes t (ns since start) against prev (the route's previous
// record's time; hasPrev false for its first) in ticks when it is on the
// grid, else raw.
func timeTag(t, prev int64, hasPrev bool, tick int64) uint64 {
	if hasPrev && t >= prev && (t-prev)%tick == 0 {
		return uint64((t-prev)/tick) << 1
	}
	return zigzag(t)<<1 | 1
}

// dtTag encodes a tick's length in ticks when it is a whole number of them.
func dtTag(dt, tick int64) uint64 {
	if dt >= 0 && dt%tick == 0 {
		return uint64(dt/tick) << 1
	}
	return uint64(max(dt, 0))<<1 | 1
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// fixed rounds v × scale to a non-negative integer, NaN and negatives 0,
// huge values capped: the format's fixed-point numbers.
func fixed(v, scale float64) uint64 {
	x := math.Round(v * scale)
	if !(x > 0) {
		return 0
	}
	return uint64(math.Min(x, 1e15))
}

// frame wraps a payload: length, payload, CRC.
func frame(payload []byte) []byte {
	out := enc(make([]byte, 0, len(payload)+binary.MaxVarintLen64+4))
	out.uvarint(uint64(len(payload)))
	out = append(out, payload...)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(payload, crcTable))
}

// dec reads the primitives of the format from a payload; the first error
// sticks and every later read returns zero.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("record runs past the end of its block")

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		if n < 0 {
			d.err = errors.New("varint overflows 64 bits")
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	b := d.b[0]
	d.b = d.b[1:]
	return b
}

// bytes reads a length-prefixed byte string of at most limit bytes; it
// aliases the payload.
func (d *dec) bytes(limit int, what string) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.err = errors.New(what + " longer than its limit")
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}
