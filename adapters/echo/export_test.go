package atrecho

import "time"

// SetRereadForTest sets how often the route table may be read again and
// returns a func restoring it.
func SetRereadForTest(d time.Duration) func() {
	old := rereadEvery
	rereadEvery = d
	return func() { rereadEvery = old }
}
