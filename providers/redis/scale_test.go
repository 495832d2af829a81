package atrredis_test

import (
	"context"
	"testing"
	"time"

	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/atrion-go/atrion/providers/redis/redistest"
)

// BenchmarkKeysAndPages lists 1,000,000 stored vectors' keys with Keys
// and reads every vector with a ReadPage pass, each page under the
// provider's default timeout (issue 21: Keys failed at 200,000 keys). One
// op is one listing or one pass; it reports the keys found and the
// longest page.
func BenchmarkKeysAndPages(b *testing.B) {
	const n = 1_000_000
	srv := redistest.Start(b)
	p := newProvider(b, srv.Client())
	fill(b, srv.Client(), atrredis.DefaultKeyPrefix, n)
	b.Run("Keys", func(b *testing.B) {
		var found int
		for b.Loop() {
			keys, err := p.Keys(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			found = len(keys)
		}
		b.ReportMetric(float64(found), "keys")
	})
	b.Run("ReadPage", func(b *testing.B) {
		var found int
		var longest time.Duration
		for b.Loop() {
			found = 0
			for cursor := ""; ; {
				start := time.Now()
				vs, next, err := p.ReadPage(context.Background(), cursor)
				longest = max(longest, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				found += len(vs)
				if cursor = next; cursor == "" {
					break
				}
			}
		}
		b.ReportMetric(float64(found), "vectors")
		b.ReportMetric(float64(longest.Milliseconds()), "max-page-ms")
	})
}
