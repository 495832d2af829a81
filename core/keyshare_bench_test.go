package atrion_test

import (
	"testing"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// BenchmarkAdmitKeyDone is a keyed admission and its Done on a route
// whose limit does not bind (the key shares off): what WithClientKey costs
// a request. Compare with BenchmarkHandleAdmitDone.
func BenchmarkAdmitKeyDone(b *testing.B) {
	a, _ := atriontest.New(b)
	h := a.Handle("GET /users/:id")
	keys := []string{"tenant-1", "tenant-2", "tenant-3", "tenant-4", "tenant-5", "tenant-6", "tenant-7", "tenant-8"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t, _ := h.AdmitKey(keys[i&7], atrion.PriorityNormal)
		t.Done(atrion.Success)
	}
}
