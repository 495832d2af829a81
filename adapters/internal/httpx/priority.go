package httpx

import (
	"strings"

	atrion "github.com/atrion-go/atrion/core"
)

// DefaultPriorityHeader is the request header that the adapters' priority
// header options read by default.
const DefaultPriorityHeader = "X-Priority"

// HeaderPriority reads a priority from a header value: a name (critical,
// high, normal, low, bulk; any case, surrounding spaces ignored) or a
// number -2..2. An empty, unknown or out-of-range value is
// PriorityNormal, so a bad header can neither fail a request nor raise it
// above normal.
//
// A header is set by the client: enable priorities from it only where the
// client is trusted (e.g. behind a gateway that sets it), since a client
// claiming "critical" is shed only by an open circuit.
func HeaderPriority(v string) atrion.Priority {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 16 {
		return atrion.PriorityNormal
	}
	for p := atrion.PriorityCritical; p <= atrion.PriorityBulk; p++ {
		if strings.EqualFold(v, p.String()) {
			return p
		}
	}
	p, _ := atrion.ParsePriority(v) // the numbers; PriorityNormal when not ok
	return p
}
