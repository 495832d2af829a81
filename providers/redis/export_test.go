package atrredis

import "time"

// EncodeVectorForTest exposes the stored form of a vector to the tests.
var EncodeVectorForTest = encodeVector

// WithHealthCheckForTest sets how long a silent subscription waits before
// it pings (healthEvery), so that tests need not wait seconds.
func WithHealthCheckForTest(d time.Duration) Option { return func(c *config) { c.health = d } }
