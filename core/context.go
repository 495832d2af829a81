package atrion

import "context"

// decisionContext carries a decision. It is its own context type rather
// than context.WithValue so that carrying one costs one allocation, not
// two (the value context and the boxed Decision); it forwards everything
// else, cancellation included, to its parent.
type decisionContext struct {
	context.Context
	d Decision
}

// decisionKey is the key DecisionFrom asks for.
type decisionKey struct{}

// Value returns the decision for DecisionFrom's key, and asks the parent
// for any other.
func (c *decisionContext) Value(key any) any {
	if _, ok := key.(decisionKey); ok {
		return &c.d // a pointer: boxing it does not allocate
	}
	return c.Context.Value(key)
}

// String names the context as the context package's own types do.
func (c *decisionContext) String() string {
	return "atrion.ContextWithDecision(" + c.d.Reason.String() + ")"
}

// ContextWithDecision returns a copy of ctx that carries d, which
// DecisionFrom reads back: an adapter asked to put each request's
// decision in its context (their WithDecisionInContext options) calls it
// before the handler runs, so that handlers and loggers can read why the
// request was admitted, and in which mode. It allocates once, which is why
// the adapters do it only when asked.
func ContextWithDecision(ctx context.Context, d Decision) context.Context {
	return &decisionContext{Context: ctx, d: d}
}

// DecisionFrom returns the decision that ContextWithDecision put in ctx
// (the innermost one), and whether there is one. It does not allocate.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	if ctx == nil {
		return Decision{}, false
	}
	if d, ok := ctx.Value(decisionKey{}).(*Decision); ok {
		return *d, true
	}
	return Decision{}, false
}
