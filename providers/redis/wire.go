package atrredis

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	atrion "github.com/atrion-go/atrion/core"
)

// The wire format, stored under each route's key and published on the
// channel, is JSON so an operator can read it with redis-cli:
//
//	key:     {"v":1,"route":"GET /users/:id","scar":4.2,"momentum":0,"r":14.2,
//	          "mode":"OPERATIONAL","tick":812,"at":1732665600123456789,"node":"web-1"}
//	message: {"v":1,"prefix":"atrion:state:","src":"<sender>","vectors":[<vector>,...]}
//
// "src" is the sending provider's random instance ID, so that a provider
// skips its own messages. "at" is the update time in Unix nanoseconds. Route and node IDs that are
// not valid UTF-8 are written as {"b64":"<standard base64>"} so that every
// byte survives. A reader rejects any other version, a vector that fails
// atrion.PhysicsVector.Valid, and anything that is not this JSON.
const wireVersion = 1

// maxBatchVectors caps the vectors in one channel message; bigger batches
// are announced in several messages of the same pipeline.
const maxBatchVectors = 1000

var errGarbage = errors.New("atrredis: undecodable state")

type wireVector struct {
	V          int       `json:"v"`
	Route      binString `json:"route"`
	Scar       float64   `json:"scar"`
	Momentum   float64   `json:"momentum"`
	Resistance float64   `json:"r"`
	Mode       string    `json:"mode"`
	Tick       uint64    `json:"tick"`
	At         int64     `json:"at"`
	Node       binString `json:"node"`
}

type wireBatch struct {
	V       int               `json:"v"`
	Prefix  binString         `json:"prefix"`
	Src     string            `json:"src"`
	Vectors []json.RawMessage `json:"vectors"`
}

// binString is a string of any bytes: a JSON string when it is valid
// UTF-8 (encoding/json would otherwise replace bad bytes), else base64.
type binString string

type b64 struct {
	B64 []byte `json:"b64"`
}

// MarshalJSON implements json.Marshaler.
func (s binString) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return json.Marshal(string(s))
	}
	return json.Marshal(b64{B64: []byte(s)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *binString) UnmarshalJSON(b []byte) error {
	if plain, ok := plainString(b); ok { // most IDs: no escapes to undo
		*s = binString(plain)
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var v b64
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = binString(v.B64)
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = binString(v)
	return nil
}

// plainString returns the contents of the JSON string b when it holds no
// escape and no control character and is valid UTF-8, as appendBinString
// writes most IDs; otherwise false, and encoding/json decodes it.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// encodeVector is the stored form of v.
func encodeVector(v atrion.PhysicsVector) ([]byte, error) {
	if !v.Valid() {
		return nil, fmt.Errorf("atrredis: invalid vector for route %q", v.Route)
	}
	return appendVector(nil, v), nil
}

// appendVector appends the stored form of v, which must be Valid: the
// JSON of wireVector (what decodeVector reads), without reflection, so
// that a batch encodes into one reused buffer.
func appendVector(dst []byte, v atrion.PhysicsVector) []byte {
	dst = fmt.Appendf(dst, `{"v":%d,"route":`, wireVersion)
	dst = appendBinString(dst, v.Route)
	dst = append(dst, `,"scar":`...)
	dst = strconv.AppendFloat(dst, v.Scar, 'g', -1, 64)
	dst = append(dst, `,"momentum":`...)
	dst = strconv.AppendFloat(dst, v.Momentum, 'g', -1, 64)
	dst = append(dst, `,"r":`...)
	dst = strconv.AppendFloat(dst, v.Resistance, 'g', -1, 64)
	dst = append(dst, `,"mode":"`...)
	dst = append(dst, v.Mode.String()...)
	dst = append(dst, `","tick":`...)
	dst = strconv.AppendUint(dst, v.Tick, 10)
	dst = append(dst, `,"at":`...)
	dst = strconv.AppendInt(dst, v.UpdatedAt.UnixNano(), 10)
	dst = append(dst, `,"node":`...)
	dst = appendBinString(dst, v.NodeID)
	return append(dst, '}')
}

// appendBinString appends s as binString.MarshalJSON does: a JSON string
// when s is valid UTF-8, else {"b64":"<standard base64>"}.
func appendBinString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		dst = append(dst, `{"b64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, []byte(s))
		return append(dst, `"}`...)
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// appendBatch appends the channel message announcing the encoded vectors.
// src must need no JSON escaping (it is a rand.Text).
func appendBatch(dst, prefix []byte, src string, vectors [][]byte) []byte {
	dst = fmt.Appendf(dst, `{"v":%d,"prefix":%s,"src":"%s","vectors":[`, wireVersion, prefix, src)
	for i, v := range vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, v...)
	}
	return append(dst, "]}"...)
}

// decodeVector parses a stored vector.
func decodeVector(b []byte) (atrion.PhysicsVector, error) {
	var w wireVector
	if scanVector(b, &w) {
		return w.vector()
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return atrion.PhysicsVector{}, errGarbage
	}
	return w.vector()
}

// scanVector reads b into w when b is exactly what appendVector writes
// (its fields in its order, no white space, strings without escapes) and
// reports whether it did; anything else goes to encoding/json, whose
// result for the same bytes is the same (FuzzScanVector). A resync reads
// every stored vector, and reflection was most of its cost.
func scanVector(b []byte, w *wireVector) bool {
	sc := wireScanner{b: b}
	var v, at int64
	var route, mode, node string
	ok := sc.lit(`{"v":`) && sc.int(&v) && sc.lit(`,"route":`) && sc.str(&route) &&
		sc.lit(`,"scar":`) && sc.float(&w.Scar) && sc.lit(`,"momentum":`) && sc.float(&w.Momentum) &&
		sc.lit(`,"r":`) && sc.float(&w.Resistance) && sc.lit(`,"mode":`) && sc.str(&mode) &&
		sc.lit(`,"tick":`) && sc.uint(&w.Tick) && sc.lit(`,"at":`) && sc.int(&at) &&
		sc.lit(`,"node":`) && sc.str(&node) && sc.lit(`}`) && len(sc.b) == 0
	if !ok {
		*w = wireVector{}
		return false
	}
	w.V, w.Route, w.Mode, w.At, w.Node = int(v), binString(route), mode, at, binString(node)
	return true
}

// wireScanner consumes the front of b.
type wireScanner struct{ b []byte }

func (s *wireScanner) lit(l string) bool {
	if len(s.b) < len(l) || string(s.b[:len(l)]) != l {
		return false
	}
	s.b = s.b[len(l):]
	return true
}

// str reads a string plainString accepts.
func (s *wireScanner) str(dst *string) bool {
	if len(s.b) == 0 || s.b[0] != '"' {
		return false
	}
	end := 1
	for end < len(s.b) && s.b[end] != '"' && s.b[end] != '\\' {
		end++
	}
	v, ok := plainString(s.b[:min(end+1, len(s.b))])
	if !ok {
		return false
	}
	*dst, s.b = v, s.b[end+1:]
	return true
}

// number consumes a JSON number and returns it; integer says whether it
// had neither fraction nor exponent.
func (s *wireScanner) number() (lit string, integer, ok bool) {
	b, i := s.b, 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return "", false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		if i = digits(b, i+1); i < 0 {
			return "", false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(b, i); i < 0 {
			return "", false, false
		}
	}
	s.b = b[i:]
	return string(b[:i]), integer, true
}

// digits returns the index past the run of decimal digits in b from i,
// or -1 when there is none.
func digits(b []byte, i int) int {
	d := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == d {
		return -1
	}
	return i
}

func (s *wireScanner) float(dst *float64) bool {
	lit, _, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(lit, 64)
	*dst = f
	return err == nil
}

// integer consumes a JSON number with neither fraction nor exponent.
func (s *wireScanner) integer() (string, bool) {
	lit, integer, ok := s.number()
	return lit, ok && integer
}

func (s *wireScanner) int(dst *int64) bool {
	lit, ok := s.integer()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(lit, 10, 64)
	*dst = v
	return err == nil
}

func (s *wireScanner) uint(dst *uint64) bool {
	lit, ok := s.integer()
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(lit, 10, 64) // refuses a sign
	*dst = v
	return err == nil
}

// decodeBatch parses a channel message into its header and vectors; bad
// is how many vectors were rejected (each is decoded on its own, so one bad
// vector does not cost the others).
func decodeBatch(b []byte) (w wireBatch, vs []atrion.PhysicsVector, bad int, err error) {
	if err := json.Unmarshal(b, &w); err != nil || w.V != wireVersion {
		return wireBatch{}, nil, 0, errGarbage
	}
	vs = make([]atrion.PhysicsVector, 0, len(w.Vectors))
	for _, raw := range w.Vectors {
		v, err := decodeVector(raw)
		if err != nil {
			bad++
			continue
		}
		vs = append(vs, v)
	}
	w.Vectors = nil
	return w, vs, bad, nil
}

func (w *wireVector) vector() (atrion.PhysicsVector, error) {
	mode, ok := parseMode(w.Mode)
	if w.V != wireVersion || !ok {
		return atrion.PhysicsVector{}, errGarbage
	}
	v := atrion.PhysicsVector{
		Route: string(w.Route), Scar: w.Scar, Momentum: w.Momentum, Resistance: w.Resistance,
		Mode: mode, Tick: w.Tick, UpdatedAt: time.Unix(0, w.At), NodeID: string(w.Node),
	}
	if !v.Valid() {
		return atrion.PhysicsVector{}, errGarbage
	}
	return v, nil
}

func parseMode(s string) (atrion.Mode, bool) {
	for m := atrion.Mode(0); m.Valid(); m++ {
		if m.String() == s {
			return m, true
		}
	}
	return 0, false
}
