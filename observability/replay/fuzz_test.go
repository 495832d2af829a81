package atrreplay

import (
	"bytes"
	"testing"
	"time"
)

// FuzzRead: whatever the bytes, Read returns an error or a recording
// whose records name defined routes, never panics, and keeps within its
// limits. (Replay of hostile values: TestReplayClampsHostileRecordings.)
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	rec, _ := NewRecorder(&buf, Options{FlushEvery: 300 * time.Millisecond, Label: "fuzz"})
	script(f, rec)
	rec.Close()
	file := buf.Bytes()
	f.Add(file)
	f.Add(file[:len(file)/2])
	f.Add(build(header(1e8), block(routeRec("r"), tickRec(0, tickExplicit|tickShed, 1, 2, 3, 4, 5, 6, 7, 8))))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Read(bytes.NewReader(data), Limits{MaxTicks: 2000, MaxRoutes: 50})
		if r == nil {
			if err == nil {
				t.Fatal("no recording and no error")
			}
			return
		}
		if len(r.Routes) > 50 || len(r.Ticks)+len(r.Transitions) > 2000 {
			t.Fatalf("past the limits: %d routes, %d records", len(r.Routes), len(r.Ticks)+len(r.Transitions))
		}
		for _, tk := range r.Ticks {
			if int(tk.Route) >= len(r.Routes) {
				t.Fatalf("tick of route %d, of %d", tk.Route, len(r.Routes))
			}
		}
		for _, tr := range r.Transitions {
			if int(tr.Route) >= len(r.Routes) || tr.From > 3 || tr.To > 3 {
				t.Fatalf("transition %+v of %d routes", tr, len(r.Routes))
			}
		}
	})
}
