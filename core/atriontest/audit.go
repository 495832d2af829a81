package atriontest

import (
	"sync"

	atrion "github.com/atrion-go/atrion/core"
)

// AuditLog is an audit sink (atrion.WithAudit) that keeps every record it
// is given, for tests to read back. It is safe for concurrent use; the
// zero AuditLog is ready.
type AuditLog struct {
	mu   sync.Mutex
	recs []atrion.AuditRecord
}

// Audit keeps r.
func (l *AuditLog) Audit(r atrion.AuditRecord) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
}

// Of returns the records of kind kind so far, oldest first; kind ""
// returns every record.
func (l *AuditLog) Of(kind atrion.AuditKind) (out []atrion.AuditRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if kind == "" || r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}
