package windtunnel

import (
	"context"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Atrion is Atrion with its defaults: zero configuration beyond the
// simulated clock.
var Atrion = AtrionWith("atrion", "defaults (zero config): learned latency baselines, AutoTuner on, 100 ms ticks")

// AtrionWith is Atrion configured by opts (the simulated clock is added),
// under another name.
func AtrionWith(name, settings string, opts ...atrion.Option) Contestant {
	return Contestant{
		Name:     name,
		Settings: settings,
		New: func(env Env) (Guard, error) {
			a, err := atrion.New(append([]atrion.Option{atrion.WithClock(env.Clock)}, opts...)...)
			if err != nil {
				return nil, err
			}
			return &atrionGuard{a: a}, nil
		},
	}
}

type atrionGuard struct{ a *atrion.Atrion }

type atrionPermit struct{ t atrion.Ticket }

// Done reports a timeout as a failure: the caller saw none of the work.
func (p atrionPermit) Done(o Outcome) {
	switch o {
	case Success:
		p.t.Done(atrion.Success)
	case Timeout:
		p.t.Done(atrion.Canceled)
	default:
		p.t.Done(atrion.Failure)
	}
}

func (g *atrionGuard) Admit(route string, p atrion.Priority) (Permit, bool) {
	t, d := g.a.Admit(route, p)
	if !d.Allowed {
		return nil, false
	}
	return atrionPermit{t}, true
}

var modeStates = [...]State{
	atrion.ModeBootstrap:   StateWarmup,
	atrion.ModeOperational: StateClosed,
	atrion.ModeRecovering:  StateHalfOpen,
	atrion.ModeCircuitOpen: StateOpen,
}

func (g *atrionGuard) Probe(route string) Probe {
	s, ok := g.a.Snapshot(route)
	if !ok {
		return noProbe
	}
	return Probe{State: modeStates[s.Mode], R: s.Resistance, Break: s.BreakPoint}
}

// Transitions counts every mode change except leaving BOOTSTRAP.
func (g *atrionGuard) Transitions() int {
	n := 0
	for _, s := range g.a.Snapshots() {
		for from, row := range s.TransitionsByMode {
			if atrion.Mode(from) == atrion.ModeBootstrap {
				continue
			}
			for _, v := range row {
				n += int(v)
			}
		}
	}
	return n
}

func (g *atrionGuard) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.a.Close(ctx)
}
