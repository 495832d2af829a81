package atrion

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// A configuration file: the options Update can change, as JSON, so that a
// running service can load its settings and reload them (on SIGHUP, or
// when the file changes: examples/hotpatch). The schema, every field
// optional, zero meaning the default exactly as in Go:
//
//	{
//	  "slo":       {"baselineLatency": "200ms", "targetErrorRate": 0.01,
//	                "criticality": {"latency": 5, "error": 8, "saturation": 3}},
//	  "physics":   {"baseResistance": 10, "decayRate": 0.1, "scarFactor": 5,
//	                "dampingFactor": 0.02, "criticalPressure": 0.7,
//	                "breakMultiplier": 10, "bootstrapTicks": 10,
//	                "tanhScale": 1, "recoveryTicks": 20},
//	  "autoTuner": {"disabled": false, "shadow": false, "k": 3, "alpha": 0,
//	                "window": 100, "minFloor": 30, "hardCeiling": 500,
//	                "warmup": 50},
//	  "routes":    {"GET /search": {"slo": {...}, "physics": {...}, "autoTuner": {...}}},
//	  "maxRoutes": 10000,
//	  "idleTTL":   "10m"
//	}
//
// Durations are Go duration strings. Unknown fields are errors, so a typo
// never passes for a setting. JSON only: core reads nothing it would need
// a dependency for.

// fileConfig is the configuration file's schema (see ParseConfig).
type fileConfig struct {
	SLO       *fileSLO                   `json:"slo,omitempty"`
	Physics   *filePhysics               `json:"physics,omitempty"`
	AutoTuner *fileAutoTuner             `json:"autoTuner,omitempty"`
	Routes    map[string]fileRouteConfig `json:"routes,omitempty"`
	MaxRoutes int                        `json:"maxRoutes,omitempty"`
	IdleTTL   fileDuration               `json:"idleTTL,omitempty"`
}

// fileSLO is SLO in a configuration file.
type fileSLO struct {
	BaselineLatency fileDuration `json:"baselineLatency,omitempty"`
	TargetErrorRate float64      `json:"targetErrorRate,omitempty"`
	Criticality     Criticality  `json:"criticality,omitzero"`
}

// filePhysics is PhysicsConfig in a configuration file.
type filePhysics struct {
	BaseResistance   float64 `json:"baseResistance,omitempty"`
	DecayRate        float64 `json:"decayRate,omitempty"`
	ScarFactor       float64 `json:"scarFactor,omitempty"`
	DampingFactor    float64 `json:"dampingFactor,omitempty"`
	CriticalPressure float64 `json:"criticalPressure,omitempty"`
	BreakMultiplier  float64 `json:"breakMultiplier,omitempty"`
	BootstrapTicks   int     `json:"bootstrapTicks,omitempty"`
	TanhScale        float64 `json:"tanhScale,omitempty"`
	RecoveryTicks    int     `json:"recoveryTicks,omitempty"`
}

// fileAutoTuner is AutoTunerConfig in a configuration file.
type fileAutoTuner struct {
	Disabled    bool    `json:"disabled,omitempty"`
	Shadow      bool    `json:"shadow,omitempty"`
	K           float64 `json:"k,omitempty"`
	Alpha       float64 `json:"alpha,omitempty"`
	Window      int     `json:"window,omitempty"`
	MinFloor    float64 `json:"minFloor,omitempty"`
	HardCeiling float64 `json:"hardCeiling,omitempty"`
	Warmup      int     `json:"warmup,omitempty"`
}

// fileRouteConfig is RouteConfig in a configuration file.
type fileRouteConfig struct {
	SLO       *fileSLO       `json:"slo,omitempty"`
	Physics   *filePhysics   `json:"physics,omitempty"`
	AutoTuner *fileAutoTuner `json:"autoTuner,omitempty"`
}

// fileDuration is a time.Duration written as a Go duration string ("250ms").
type fileDuration time.Duration

// UnmarshalJSON reads a duration string.
func (d *fileDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"250ms\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = fileDuration(v)
	return nil
}

// MarshalJSON writes a duration string.
func (d fileDuration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// maxConfigFile bounds what ParseConfig reads.
const maxConfigFile = 8 << 20

// ParseConfig reads a configuration file's JSON into the options it sets,
// for New or Update. It checks the file's shape (unknown fields, types,
// durations, at most 8 MiB); New and Update check the values.
func ParseConfig(data []byte) ([]Option, error) {
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("atrion: config: %d bytes, more than %d", len(data), maxConfigFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fc fileConfig
	if err := dec.Decode(&fc); err != nil {
		return nil, configErr(err)
	}
	if dec.More() {
		return nil, errors.New("atrion: config: more than one JSON value")
	}
	return fc.options(), nil
}

// LoadConfig reads and parses the configuration file at path.
func LoadConfig(path string) ([]Option, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("atrion: config: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&limitedReader{f: f, n: maxConfigFile + 1}); err != nil {
		return nil, fmt.Errorf("atrion: config %s: %w", path, err)
	}
	opts, err := ParseConfig(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return opts, nil
}

type limitedReader struct {
	f *os.File
	n int64
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("file too large")
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, err := r.f.Read(p)
	r.n -= int64(n)
	return n, err
}

func configErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("atrion: config field %s: %s is not a %s", te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("atrion: config: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// options returns the options fc sets: only what it names, so that with
// Update the rest stays as it is.
func (fc *fileConfig) options() []Option {
	var opts []Option
	if fc.SLO != nil {
		opts = append(opts, WithSLO(fc.SLO.slo()))
	}
	if fc.Physics != nil {
		opts = append(opts, WithPhysics(fc.Physics.physics()))
	}
	if fc.AutoTuner != nil {
		opts = append(opts, WithAutoTuner(fc.AutoTuner.tuner()))
	}
	for id, rc := range fc.Routes {
		var c RouteConfig
		if rc.SLO != nil {
			s := rc.SLO.slo()
			c.SLO = &s
		}
		if rc.Physics != nil {
			p := rc.Physics.physics()
			c.Physics = &p
		}
		if rc.AutoTuner != nil {
			t := rc.AutoTuner.tuner()
			c.AutoTuner = &t
		}
		opts = append(opts, WithRouteConfig(id, c))
	}
	if fc.MaxRoutes != 0 {
		opts = append(opts, WithMaxRoutes(fc.MaxRoutes))
	}
	if fc.IdleTTL != 0 {
		opts = append(opts, WithIdleTTL(time.Duration(fc.IdleTTL)))
	}
	return opts
}

func (s *fileSLO) slo() SLO {
	return SLO{BaselineLatency: time.Duration(s.BaselineLatency), TargetErrorRate: s.TargetErrorRate, Criticality: s.Criticality}
}

func (p *filePhysics) physics() PhysicsConfig { return PhysicsConfig(*p) }

func (t *fileAutoTuner) tuner() AutoTunerConfig { return AutoTunerConfig(*t) }
