package hotpath

import (
	"os"
	"sync/atomic"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, _ := sentinelInit(); dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// BenchmarkSerial runs every subject's unit of work from one goroutine.
func BenchmarkSerial(b *testing.B) {
	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			w := s.setup(b)
			b.ReportAllocs()
			rejects := 0
			for i := 0; b.Loop(); i++ {
				if !w(i) {
					rejects++
				}
			}
			reportRejects(b, int64(rejects))
		})
	}
}

// BenchmarkParallel runs every subject's unit of work from GOMAXPROCS
// goroutines sharing one instance.
func BenchmarkParallel(b *testing.B) {
	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			w := s.setup(b)
			var rejects, goroutines atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// start each goroutine at its own place among the routes
				i := int(goroutines.Add(1)) * 7919
				n := int64(0)
				for ; pb.Next(); i++ {
					if !w(i) {
						n++
					}
				}
				rejects.Add(n)
			})
			reportRejects(b, rejects.Load())
		})
	}
}

func reportRejects(b *testing.B, rejects int64) {
	b.ReportMetric(float64(rejects)/float64(max(b.N, 1)), "rejects/op")
}
