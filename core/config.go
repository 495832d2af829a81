package atrion

import (
	"fmt"
	"math"
	"time"
)

// ExplicitZero asks for a true zero in a float field of PhysicsConfig, SLO
// Criticality or AutoTunerConfig where the zero value means "default": for
// example DampingFactor: atrion.ExplicitZero turns momentum off. It is the
// smallest positive float64, so every formula treats it as zero.
const ExplicitZero = math.SmallestNonzeroFloat64

// NoBootstrap, as PhysicsConfig.BootstrapTicks, skips bootstrap.
const NoBootstrap = -1

// NoWarmup, as AutoTunerConfig.Warmup, lets the tuner enforce its learned
// points from its first sample.
const NoWarmup = -1

// PhysicsConfig holds every parameter of the physics. A zero field means
// the default shown; use ExplicitZero (or NoBootstrap) for a true zero.
type PhysicsConfig struct {
	BaseResistance   float64 // R_base, the floor of R (10)
	DecayRate        float64 // λ, scar healing rate per second (0.1)
	ScarFactor       float64 // σ, scar added per trauma tick (5)
	DampingFactor    float64 // μ, weight of momentum, seconds (0.02)
	CriticalPressure float64 // P_crit, ‖P⁺‖ above it is trauma (0.7)
	BreakMultiplier  float64 // static break point = R_base × this; recovery = half of it (10)
	BootstrapTicks   int     // ticks with samples before the route is OPERATIONAL (10)
	TanhScale        float64 // k in p = tanh(k·(x−b)/b) (1)
	RecoveryTicks    int     // healthy ticks in RECOVERING before OPERATIONAL; the ramp's length (20)
}

// Criticality weighs the pressure components: w = ln(1 + criticality).
// Zero fields mean the defaults (latency 5, error 8, saturation 3).
type Criticality struct {
	Latency, Error, Saturation float64
}

// SLO sets a route's baselines. A zero BaselineLatency means "learn it":
// the route learns its latency baseline while healthy, with a ceiling of
// 1.5 × its bootstrap baseline. A zero TargetErrorRate means 0.01.
type SLO struct {
	BaselineLatency time.Duration
	TargetErrorRate float64
	Criticality     Criticality
}

// AutoTunerConfig configures the per-route AutoTuner. The zero value is on,
// enforcing, with the defaults shown.
type AutoTunerConfig struct {
	Disabled    bool    // use the static break and recovery points only
	Shadow      bool    // learn and publish thresholds, but decide with the static points
	K           float64 // break = μ + K·σ (3)
	Alpha       float64 // EMA weight; overrides Window when set
	Window      int     // EMA window: α = 2/(Window+1) (100)
	MinFloor    float64 // lowest learned break point (30); recovery ≥ MinFloor/2
	HardCeiling float64 // highest learned break point (500)
	Warmup      int     // healthy ticks before the learned points apply (50)
}

// RouteConfig overrides the engine-wide configuration for one route. Nil
// fields inherit.
type RouteConfig struct {
	SLO       *SLO
	Physics   *PhysicsConfig
	AutoTuner *AutoTunerConfig
}

const (
	defaultTick      = 100 * time.Millisecond
	defaultMaxRoutes = 10000
	defaultIdleTTL   = 10 * time.Minute
	// MaxRouteIDLen is the longest route ID tracked on its own; longer IDs
	// (and the empty ID) fall into the overflow route.
	MaxRouteIDLen = 1024
	// OverflowRoute is the route that collects requests for routes beyond
	// the cap and for invalid route IDs.
	OverflowRoute = "atrion:overflow"
)

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	if v == ExplicitZero {
		return 0
	}
	return v
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func fieldErr(field string, v any, want string) error {
	return fmt.Errorf("atrion: %s = %v is invalid: %s", field, v, want)
}

// resolvePhysics validates a PhysicsConfig and an SLO and fills params.
// prefix names the field path in errors.
func resolvePhysics(prefix string, pc PhysicsConfig, slo SLO) (params, error) {
	checks := []struct {
		name string
		v    float64
		ok   func(float64) bool
		want string
	}{
		{"BaseResistance", pc.BaseResistance, func(v float64) bool { return v >= 0 && v <= 1e6 }, "must be > 0 and ≤ 1e6"},
		{"DecayRate", pc.DecayRate, func(v float64) bool { return v >= 0 && v <= 1e3 }, "must be ≥ 0 and ≤ 1000 per second"},
		{"ScarFactor", pc.ScarFactor, func(v float64) bool { return v >= 0 && v <= 1e6 }, "must be ≥ 0 and ≤ 1e6"},
		{"DampingFactor", pc.DampingFactor, func(v float64) bool { return v >= 0 && v <= 1e3 }, "must be ≥ 0 and ≤ 1000 seconds"},
		{"CriticalPressure", pc.CriticalPressure, func(v float64) bool { return v >= 0 && v <= math.Sqrt(3) }, "must be ≥ 0 and ≤ √3"},
		{"BreakMultiplier", pc.BreakMultiplier, func(v float64) bool { return v == 0 || (v > 1 && v <= 1e6) }, "must be > 1 and ≤ 1e6"},
		{"TanhScale", pc.TanhScale, func(v float64) bool { return v >= 0 && v <= 1e3 }, "must be > 0 and ≤ 1000"},
	}
	for _, c := range checks {
		if !finite(c.v) || !c.ok(c.v) {
			return params{}, fieldErr(prefix+"PhysicsConfig."+c.name, c.v, c.want)
		}
	}
	if pc.BaseResistance == ExplicitZero {
		return params{}, fieldErr(prefix+"PhysicsConfig.BaseResistance", pc.BaseResistance, "must be > 0")
	}
	if pc.TanhScale == ExplicitZero {
		return params{}, fieldErr(prefix+"PhysicsConfig.TanhScale", pc.TanhScale, "must be > 0")
	}
	if pc.BootstrapTicks < NoBootstrap || pc.BootstrapTicks > 1e6 {
		return params{}, fieldErr(prefix+"PhysicsConfig.BootstrapTicks", pc.BootstrapTicks, "must be ≥ 0 (or NoBootstrap) and ≤ 1e6")
	}
	if pc.RecoveryTicks < 0 || pc.RecoveryTicks > 1e6 {
		return params{}, fieldErr(prefix+"PhysicsConfig.RecoveryTicks", pc.RecoveryTicks, "must be ≥ 0 and ≤ 1e6")
	}
	if slo.BaselineLatency < 0 {
		return params{}, fieldErr(prefix+"SLO.BaselineLatency", slo.BaselineLatency, "must be ≥ 0 (0 learns it)")
	}
	if !finite(slo.TargetErrorRate) || slo.TargetErrorRate < 0 || slo.TargetErrorRate >= 1 {
		return params{}, fieldErr(prefix+"SLO.TargetErrorRate", slo.TargetErrorRate, "must be in [0, 1)")
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"Latency", slo.Criticality.Latency}, {"Error", slo.Criticality.Error}, {"Saturation", slo.Criticality.Saturation}} {
		if !finite(c.v) || c.v < 0 || c.v > 1e6 {
			return params{}, fieldErr(prefix+"SLO.Criticality."+c.name, c.v, "must be ≥ 0 and ≤ 1e6")
		}
	}
	p := params{
		baseR:      orDefault(pc.BaseResistance, 10),
		decay:      orDefault(pc.DecayRate, 0.1),
		scarFactor: orDefault(pc.ScarFactor, 5),
		damping:    orDefault(pc.DampingFactor, 0.02),
		pCrit:      orDefault(pc.CriticalPressure, 0.7),
		breakMult:  orDefault(pc.BreakMultiplier, 10),
		bootstrap:  pc.BootstrapTicks,
		tanhK:      orDefault(pc.TanhScale, 1),
		recovery:   pc.RecoveryTicks,
		baseErr:    slo.TargetErrorRate,
		baseSat:    0.5,
	}
	switch p.bootstrap {
	case 0:
		p.bootstrap = 10
	case NoBootstrap:
		p.bootstrap = 0
	}
	if p.recovery == 0 {
		p.recovery = 20
	}
	if p.baseErr == 0 {
		p.baseErr = 0.01
	}
	p.weights = [3]float64{
		math.Log1p(orDefault(slo.Criticality.Latency, 5)),
		math.Log1p(orDefault(slo.Criticality.Error, 8)),
		math.Log1p(orDefault(slo.Criticality.Saturation, 3)),
	}
	return p, nil
}

// resolveTuner validates an AutoTunerConfig.
func resolveTuner(prefix string, tc AutoTunerConfig) (tunerParams, error) {
	f := func(name string, v float64, ok bool, want string) error {
		if !finite(v) || !ok {
			return fieldErr(prefix+"AutoTunerConfig."+name, v, want)
		}
		return nil
	}
	if err := f("K", tc.K, tc.K >= 0 && tc.K <= 1e3, "must be ≥ 0 and ≤ 1000"); err != nil {
		return tunerParams{}, err
	}
	if err := f("Alpha", tc.Alpha, tc.Alpha >= 0 && tc.Alpha <= 1, "must be in (0, 1]"); err != nil {
		return tunerParams{}, err
	}
	if err := f("MinFloor", tc.MinFloor, tc.MinFloor >= 0 && tc.MinFloor <= 1e9, "must be ≥ 0"); err != nil {
		return tunerParams{}, err
	}
	if err := f("HardCeiling", tc.HardCeiling, tc.HardCeiling >= 0 && tc.HardCeiling <= 1e9, "must be ≥ 0"); err != nil {
		return tunerParams{}, err
	}
	if tc.Window < 0 || tc.Window > 1e7 {
		return tunerParams{}, fieldErr(prefix+"AutoTunerConfig.Window", tc.Window, "must be ≥ 0 and ≤ 1e7")
	}
	if tc.Warmup < NoWarmup || tc.Warmup > 1e7 {
		return tunerParams{}, fieldErr(prefix+"AutoTunerConfig.Warmup", tc.Warmup, "must be ≥ 0 (or NoWarmup) and ≤ 1e7")
	}
	tp := tunerParams{
		disabled:    tc.Disabled,
		shadow:      tc.Shadow,
		k:           orDefault(tc.K, 3),
		alpha:       orDefault(tc.Alpha, 0),
		minFloor:    orDefault(tc.MinFloor, 30),
		hardCeiling: orDefault(tc.HardCeiling, 500),
		warmup:      tc.Warmup,
	}
	if tp.alpha == 0 {
		w := tc.Window
		if w == 0 {
			w = 100
		}
		tp.alpha = 2 / float64(w+1)
	}
	switch tp.warmup {
	case 0:
		tp.warmup = 50
	case NoWarmup:
		tp.warmup = 0
	}
	if tp.hardCeiling < tp.minFloor {
		return tunerParams{}, fieldErr(prefix+"AutoTunerConfig.HardCeiling", tc.HardCeiling, fmt.Sprintf("must be ≥ MinFloor (%v)", tp.minFloor))
	}
	return tp, nil
}
