package sink

import (
	"log/slog"

	atrion "github.com/atrion-go/atrion/core"
)

// SlogAudit writes each record to l at Info, as its fields: with a JSON
// handler, one JSON line per record.
func SlogAudit(l *slog.Logger) atrion.AuditSink {
	return atrion.AuditFunc(func(r atrion.AuditRecord) {
		l.Info("atrion audit", "kind", r.Kind, "route", r.Route, "actor", r.Actor, "action", r.Action,
			"from", r.From, "to", r.To, "r", r.Resistance, "scar", r.Scar, "error_rate", r.ErrorRate,
			"error_bound", r.ErrorBound, "limit", r.Limit, "inflight", r.InFlight, "detail", r.Detail,
			"at", r.Time)
	})
}
