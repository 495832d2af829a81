package atrion

import (
	"testing"

	"github.com/atrion-go/atrion/core/internal/law"
)

// The engine's public modes and the mode machine's are one set of values:
// route.mode converts one to the other.
func TestModesMatchTheLaw(t *testing.T) {
	for _, c := range []struct {
		public Mode
		law    law.Mode
	}{{ModeBootstrap, law.ModeBootstrap}, {ModeOperational, law.ModeOperational},
		{ModeRecovering, law.ModeRecovering}, {ModeCircuitOpen, law.ModeCircuitOpen}} {
		if uint32(c.public) != uint32(c.law) {
			t.Errorf("%v is %d, the law's %d", c.public, c.public, c.law)
		}
	}
}

// The defaults the law's own tests run on are the engine's.
func TestLawTestParamsAreTheDefaults(t *testing.T) {
	p, err := resolvePhysics("", PhysicsConfig{}, SLO{})
	if err != nil {
		t.Fatal(err)
	}
	if p.BaseR != 10 || p.Decay != 0.1 || p.ScarFactor != 5 || p.Damping != 0.02 || p.PCrit != 0.7 || p.BreakMult != 10 ||
		p.Bootstrap != 10 || p.TanhK != 1 || p.Recovery != 20 || p.BaseErr != 0.01 || p.BaseSat != 0.5 {
		t.Fatalf("defaults %+v changed: update testParams in internal/law/circuit_test.go", p)
	}
}
