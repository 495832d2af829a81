package atrion

import (
	"fmt"
	"github.com/atrion-go/atrion/core/internal/law"
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

// PhysicsConfig holds every parameter of the physics (SPEC §2). Its zero
// value is the defaults. A zero field means its default; for a true zero
// in a float field, use ExplicitZero (in BootstrapTicks, NoBootstrap).
// New refuses a value out of range, naming the field.
type PhysicsConfig struct {
	// BaseResistance is R_base, the resistance of a healthy route and the
	// floor of R. Default 10; > 0 and ≤ 1e6.
	BaseResistance float64

	// DecayRate is λ, how fast scar heals, per second: scar decays as
	// e^(−λt). Default 0.1 (a half-life of about 7 s); ≥ 0 and ≤ 1000.
	DecayRate float64

	// ScarFactor is σ, the scar a trauma tick adds per unit of positive
	// pressure above CriticalPressure. Default 5; ≥ 0 and ≤ 1e6.
	ScarFactor float64

	// DampingFactor is μ, in seconds: how much the momentum (the rate of
	// change of pressure) adds to R. Default 0.02; ≥ 0 and ≤ 1000;
	// ExplicitZero turns momentum off.
	DampingFactor float64

	// CriticalPressure is P_crit: a tick whose positive pressure ‖P⁺‖
	// exceeds it is trauma and scars the route. Default 0.7; ≥ 0 and ≤ √3.
	CriticalPressure float64

	// BreakMultiplier sets the static break point, R_base × BreakMultiplier,
	// past which failure evidence opens the circuit; the static recovery
	// point is half of it. The AutoTuner replaces both once warm. Default
	// 10; > 1 and ≤ 1e6.
	BreakMultiplier float64

	// BootstrapTicks is how many ticks with samples a new route learns
	// before it runs OPERATIONAL; R is held at 1.2 × R_base meanwhile.
	// Default 10; ≥ 0 and ≤ 1e6; NoBootstrap skips bootstrap.
	BootstrapTicks int

	// TanhScale is k in the pressure p = tanh(k·(x−b)/b) of a measure x
	// against its baseline b. Default 1; > 0 and ≤ 1000.
	TanhScale float64

	// RecoveryTicks is how many healthy ticks RECOVERING lasts before the
	// route runs OPERATIONAL again: the length of the admission ramp.
	// Default 20; ≥ 0 and ≤ 1e6.
	RecoveryTicks int
}

// Criticality weighs the pressure components: a component's weight is
// w = ln(1 + criticality). Zero fields mean their defaults; ExplicitZero
// gives a component no weight. Each is ≥ 0 and ≤ 1e6.
type Criticality struct {
	// Latency weighs latency pressure. Default 5.
	Latency float64
	// Error weighs error pressure. Default 8.
	Error float64
	// Saturation weighs saturation pressure (WithSaturation,
	// ReportOutcome). Default 3.
	Saturation float64
}

// SLO sets a route's baselines: what "healthy" means for its latency and
// errors. The zero value learns the latency baseline and takes the
// default error rate.
type SLO struct {
	// BaselineLatency is the latency at which latency pressure is zero.
	// Default 0: learn it, as 2 × the no-load latency the route shows
	// while healthy (a floor that never rises past 1.5 × its lowest),
	// between 1 ms and 1 min; 100 ms until anything is learned. ≥ 0.
	BaselineLatency time.Duration

	// TargetErrorRate is the error rate at which error pressure is zero.
	// Default 0.01; in [0, 1).
	TargetErrorRate float64

	// Criticality weighs the pressure components (defaults: latency 5,
	// error 8, saturation 3).
	Criticality Criticality
}

// AutoTunerConfig configures the per-route AutoTuner (SPEC §3.5), which
// learns a route's break and recovery points from the mean and spread of
// its R while healthy. The zero value is on and enforcing, with the
// defaults below. New refuses a value out of range, naming the field.
type AutoTunerConfig struct {
	// Disabled turns the AutoTuner off: the static break and recovery
	// points (PhysicsConfig.BreakMultiplier) decide. Default false.
	Disabled bool

	// Shadow learns and reports the thresholds (Snapshot, events) but
	// decides with the static points: a way to watch before trusting.
	// Default false.
	Shadow bool

	// K sets the learned break point, μ + K·σ of R. Default 3; ≥ 0 and
	// ≤ 1000.
	K float64

	// Alpha is the weight of each healthy tick in the moving mean and
	// variance; when set, it overrides Window. Default 0: from Window;
	// in (0, 1].
	Alpha float64

	// Window is the moving mean's window in healthy ticks: α = 2/(Window+1).
	// Default 100; ≥ 0 and ≤ 1e7.
	Window int

	// MinFloor is the lowest learned break point; the learned recovery
	// point is at least MinFloor/2. Default 30; ≥ 0.
	MinFloor float64

	// HardCeiling is the highest learned break point. Default 500; ≥ 0
	// and ≥ MinFloor.
	HardCeiling float64

	// Warmup is how many healthy ticks the AutoTuner learns before its
	// points apply. Default 50; ≥ 0 and ≤ 1e7; NoWarmup applies them from
	// the first sample.
	Warmup int
}

// RouteConfig overrides the engine-wide configuration for one route
// (WithRouteConfig). A nil field inherits the engine's.
type RouteConfig struct {
	// SLO replaces the engine's SLO (WithSLO) for the route.
	SLO *SLO
	// Physics replaces the engine's PhysicsConfig (WithPhysics).
	Physics *PhysicsConfig
	// AutoTuner replaces the engine's AutoTunerConfig (WithAutoTuner).
	AutoTuner *AutoTunerConfig
	// Weight is the route's weight in its group's fair shares (WithGroups):
	// while the group's bottleneck is full, a route of weight 2 is entitled
	// to twice the capacity of a route of weight 1. 0 means 1; otherwise it
	// must be finite and in (0, 1000]. Live through Update.
	Weight float64
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
func resolvePhysics(prefix string, pc PhysicsConfig, slo SLO) (law.Params, error) {
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
			return law.Params{}, fieldErr(prefix+"PhysicsConfig."+c.name, c.v, c.want)
		}
	}
	if pc.BaseResistance == ExplicitZero {
		return law.Params{}, fieldErr(prefix+"PhysicsConfig.BaseResistance", pc.BaseResistance, "must be > 0")
	}
	if pc.TanhScale == ExplicitZero {
		return law.Params{}, fieldErr(prefix+"PhysicsConfig.TanhScale", pc.TanhScale, "must be > 0")
	}
	if pc.BootstrapTicks < NoBootstrap || pc.BootstrapTicks > 1e6 {
		return law.Params{}, fieldErr(prefix+"PhysicsConfig.BootstrapTicks", pc.BootstrapTicks, "must be ≥ 0 (or NoBootstrap) and ≤ 1e6")
	}
	if pc.RecoveryTicks < 0 || pc.RecoveryTicks > 1e6 {
		return law.Params{}, fieldErr(prefix+"PhysicsConfig.RecoveryTicks", pc.RecoveryTicks, "must be ≥ 0 and ≤ 1e6")
	}
	if slo.BaselineLatency < 0 {
		return law.Params{}, fieldErr(prefix+"SLO.BaselineLatency", slo.BaselineLatency, "must be ≥ 0 (0 learns it)")
	}
	if !finite(slo.TargetErrorRate) || slo.TargetErrorRate < 0 || slo.TargetErrorRate >= 1 {
		return law.Params{}, fieldErr(prefix+"SLO.TargetErrorRate", slo.TargetErrorRate, "must be in [0, 1)")
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"Latency", slo.Criticality.Latency}, {"Error", slo.Criticality.Error}, {"Saturation", slo.Criticality.Saturation}} {
		if !finite(c.v) || c.v < 0 || c.v > 1e6 {
			return law.Params{}, fieldErr(prefix+"SLO.Criticality."+c.name, c.v, "must be ≥ 0 and ≤ 1e6")
		}
	}
	p := law.Params{
		BaseR:      orDefault(pc.BaseResistance, 10),
		Decay:      orDefault(pc.DecayRate, 0.1),
		ScarFactor: orDefault(pc.ScarFactor, 5),
		Damping:    orDefault(pc.DampingFactor, 0.02),
		PCrit:      orDefault(pc.CriticalPressure, 0.7),
		BreakMult:  orDefault(pc.BreakMultiplier, 10),
		Bootstrap:  pc.BootstrapTicks,
		TanhK:      orDefault(pc.TanhScale, 1),
		Recovery:   pc.RecoveryTicks,
		BaseErr:    slo.TargetErrorRate,
		BaseSat:    0.5,
	}
	switch p.Bootstrap {
	case 0:
		p.Bootstrap = 10
	case NoBootstrap:
		p.Bootstrap = 0
	}
	if p.Recovery == 0 {
		p.Recovery = 20
	}
	if p.BaseErr == 0 {
		p.BaseErr = 0.01
	}
	p.Weights = [3]float64{
		math.Log1p(orDefault(slo.Criticality.Latency, 5)),
		math.Log1p(orDefault(slo.Criticality.Error, 8)),
		math.Log1p(orDefault(slo.Criticality.Saturation, 3)),
	}
	return p, nil
}

// resolveTuner validates an AutoTunerConfig.
func resolveTuner(prefix string, tc AutoTunerConfig) (law.TunerParams, error) {
	f := func(name string, v float64, ok bool, want string) error {
		if !finite(v) || !ok {
			return fieldErr(prefix+"AutoTunerConfig."+name, v, want)
		}
		return nil
	}
	if err := f("K", tc.K, tc.K >= 0 && tc.K <= 1e3, "must be ≥ 0 and ≤ 1000"); err != nil {
		return law.TunerParams{}, err
	}
	if err := f("Alpha", tc.Alpha, tc.Alpha >= 0 && tc.Alpha <= 1, "must be in (0, 1]"); err != nil {
		return law.TunerParams{}, err
	}
	if err := f("MinFloor", tc.MinFloor, tc.MinFloor >= 0 && tc.MinFloor <= 1e9, "must be ≥ 0"); err != nil {
		return law.TunerParams{}, err
	}
	if err := f("HardCeiling", tc.HardCeiling, tc.HardCeiling >= 0 && tc.HardCeiling <= 1e9, "must be ≥ 0"); err != nil {
		return law.TunerParams{}, err
	}
	if tc.Window < 0 || tc.Window > 1e7 {
		return law.TunerParams{}, fieldErr(prefix+"AutoTunerConfig.Window", tc.Window, "must be ≥ 0 and ≤ 1e7")
	}
	if tc.Warmup < NoWarmup || tc.Warmup > 1e7 {
		return law.TunerParams{}, fieldErr(prefix+"AutoTunerConfig.Warmup", tc.Warmup, "must be ≥ 0 (or NoWarmup) and ≤ 1e7")
	}
	tp := law.TunerParams{
		Disabled:    tc.Disabled,
		Shadow:      tc.Shadow,
		K:           orDefault(tc.K, 3),
		Alpha:       orDefault(tc.Alpha, 0),
		MinFloor:    orDefault(tc.MinFloor, 30),
		HardCeiling: orDefault(tc.HardCeiling, 500),
		Warmup:      tc.Warmup,
	}
	if tp.Alpha == 0 {
		w := tc.Window
		if w == 0 {
			w = 100
		}
		tp.Alpha = 2 / float64(w+1)
	}
	switch tp.Warmup {
	case 0:
		tp.Warmup = 50
	case NoWarmup:
		tp.Warmup = 0
	}
	if tp.HardCeiling < tp.MinFloor {
		return law.TunerParams{}, fieldErr(prefix+"AutoTunerConfig.HardCeiling", tc.HardCeiling, fmt.Sprintf("must be ≥ MinFloor (%v)", tp.MinFloor))
	}
	return tp, nil
}
