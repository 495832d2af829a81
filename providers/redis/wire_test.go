package atrredis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func TestWireRoundTrip(t *testing.T) {
	for _, v := range []atrion.PhysicsVector{
		{Route: "GET /users/:id", Scar: 4.25, Momentum: 0.5, Resistance: 14.75, Mode: atrion.ModeCircuitOpen,
			Tick: 812, UpdatedAt: time.Unix(1732665600, 123456789), NodeID: "web-1"},
		{Route: "a \xff\x00:b", Resistance: 10, Mode: atrion.ModeRecovering, UpdatedAt: time.Unix(0, 1), NodeID: "\xfe"},
		{Route: `"quoted" <html> & \ back`, Resistance: 10, UpdatedAt: time.Unix(5, 0)},
		{Route: "tab\tline\n\x01\x1f é \u2028", Scar: 1e-300, Momentum: 3e21, Resistance: 0.1, UpdatedAt: time.Unix(-5, 7), NodeID: "ü"},
	} {
		b, err := encodeVector(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeVector(b)
		if err != nil || !eqIgnoringTime(got, v) {
			t.Errorf("round trip of %+v: %+v, %v (wire %s)", v, got, err, b)
		}
		msg := appendBatch(nil, []byte(`"p:"`), "src1", [][]byte{b, b})
		h, vs, bad, err := decodeBatch(msg)
		if err != nil || bad != 0 || string(h.Prefix) != "p:" || h.Src != "src1" || len(vs) != 2 || !eqIgnoringTime(vs[1], v) {
			t.Errorf("batch %s: %+v %v %d %v", msg, h, vs, bad, err)
		}
	}
}

func eqIgnoringTime(a, b atrion.PhysicsVector) bool {
	ok := a.UpdatedAt.Equal(b.UpdatedAt)
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return ok && a == b
}

func TestEncodeRejectsInvalid(t *testing.T) {
	for _, v := range []atrion.PhysicsVector{
		{}, {Route: "r", Scar: -1}, {Route: "r", Mode: 9}, {Route: strings.Repeat("r", atrion.MaxRouteIDLen+1)},
	} {
		if b, err := encodeVector(v); err == nil {
			t.Errorf("encoded invalid %+v as %s", v, b)
		}
	}
}

func TestParseModeNames(t *testing.T) {
	for m := atrion.Mode(0); m.Valid(); m++ {
		if got, ok := parseMode(m.String()); !ok || got != m {
			t.Errorf("parseMode(%q) = %v, %v", m.String(), got, ok)
		}
	}
	for _, s := range []string{"", "operational", "Mode(4)", "CIRCUIT_OPEN "} {
		if _, ok := parseMode(s); ok {
			t.Errorf("parseMode(%q) accepted", s)
		}
	}
}

func TestGlobEscape(t *testing.T) {
	if got, want := globEscape(`a*b?c[d]e\f:`), `a\*b\?c\[d\]e\\f:`; got != want {
		t.Errorf("globEscape = %q, want %q", got, want)
	}
}

// FuzzDecodeBatch feeds the channel decoder arbitrary bytes: it must not
// panic, and whatever it accepts must be valid and survive a round trip.
func FuzzDecodeBatch(f *testing.F) {
	good, _ := encodeVector(atrion.PhysicsVector{Route: "r", Resistance: 10, Mode: atrion.ModeOperational, UpdatedAt: time.Unix(1, 0)})
	f.Add(appendBatch(nil, []byte(`"atrion:state:"`), "s", [][]byte{good}))
	f.Add([]byte(`{"v":1,"prefix":{"b64":"/w=="},"vectors":[{"v":1,"route":{"b64":"/w=="},"r":1,"mode":"BOOTSTRAP"}]}`))
	f.Add([]byte(`{"v":1,"vectors":[1,"x",null,{}]}`))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, vs, _, err := decodeBatch(b)
		if err != nil {
			return
		}
		for _, v := range vs {
			checkAccepted(t, v)
		}
	})
}

// FuzzDecodeVector does the same for values stored under the keys.
func FuzzDecodeVector(f *testing.F) {
	good, _ := encodeVector(atrion.PhysicsVector{Route: "r", Scar: 1, Resistance: 11, Mode: atrion.ModeCircuitOpen, UpdatedAt: time.Unix(1, 0)})
	f.Add(good)
	f.Add([]byte(`{"v":1,"route":"x","scar":1e308,"r":1e308,"mode":"RECOVERING","tick":18446744073709551615,"at":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeVector(b); err == nil {
			checkAccepted(t, v)
		}
	})
}

func checkAccepted(t *testing.T, v atrion.PhysicsVector) {
	t.Helper()
	if !v.Valid() {
		t.Fatalf("accepted invalid vector %+v", v)
	}
	b, err := encodeVector(v)
	if err != nil {
		t.Fatalf("accepted vector does not encode: %+v: %v", v, err)
	}
	if got, err := decodeVector(b); err != nil || !eqIgnoringTime(got, v) {
		t.Fatalf("round trip of %+v: %+v, %v", v, got, err)
	}
}

// BenchmarkDecodeVector is one stored vector's decoding: what a resync
// pays per key.
func BenchmarkDecodeVector(b *testing.B) {
	enc, err := encodeVector(atrion.PhysicsVector{Route: "GET /users/:id", Scar: 4.25, Momentum: 0.5, Resistance: 14.75,
		Mode: atrion.ModeCircuitOpen, Tick: 812, UpdatedAt: time.Unix(1732665600, 123456789), NodeID: "web-1"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeVector(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScanVector: whatever the fast decoder accepts, encoding/json
// decodes to the same fields.
func FuzzScanVector(f *testing.F) {
	for _, v := range []atrion.PhysicsVector{
		{Route: "GET /users/:id", Scar: 4.25, Momentum: 0.5, Resistance: 14.75, Mode: atrion.ModeCircuitOpen,
			Tick: 812, UpdatedAt: time.Unix(1732665600, 123456789), NodeID: "web-1"},
		{Route: "a \xff", Resistance: 1e-300, UpdatedAt: time.Unix(-5, 0), NodeID: "é"},
	} {
		b, _ := encodeVector(v)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"route":"x","scar":-0,"momentum":1E+2,"r":0.5e-3,"mode":"OPERATIONAL","tick":0,"at":-9223372036854775808,"node":""}`))
	f.Add([]byte(`{"v":1,"route":"x\"","scar":01,"momentum":1.,"r":+1,"mode":"OPERATIONAL","tick":1.5,"at":1,"node":"n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, slow wireVector
		if !scanVector(b, &fast) {
			return
		}
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast decoder accepted %q, encoding/json: %v", b, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, slow)
		}
	})
}
