package atrion

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
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
// never passes for a setting, and so are keys that are not exactly a
// field's name ("PHYSICS", "Physics") and keys given twice in one object:
// Go's decoder would take them case-insensitively and let the last one
// win silently. JSON only: core reads nothing it would need a dependency
// for.
//
// A file is the whole configuration, not a patch: loaded into Update, what
// it does not name returns to its default, and a route override it no
// longer lists is removed. Reloading {} after a file that set
// "physics": {"breakMultiplier": 6} and overrode "GET /search" puts the
// break multiplier back to 10 and "GET /search" back on the defaults, as
// a restart with that file would.

// fileConfig is the configuration file's schema (see ParseConfig).
type fileConfig struct {
	SLO       *fileSLO                    `json:"slo,omitempty"`
	Physics   *filePhysics                `json:"physics,omitempty"`
	AutoTuner *fileAutoTuner              `json:"autoTuner,omitempty"`
	Routes    map[string]*fileRouteConfig `json:"routes,omitempty"`
	MaxRoutes int                         `json:"maxRoutes,omitempty"`
	IdleTTL   fileDuration                `json:"idleTTL,omitempty"`
}

// fileSLO is SLO in a configuration file.
type fileSLO struct {
	BaselineLatency fileDuration    `json:"baselineLatency,omitempty"`
	TargetErrorRate float64         `json:"targetErrorRate,omitempty"`
	Criticality     fileCriticality `json:"criticality,omitzero"`
}

// fileCriticality is Criticality in a configuration file.
type fileCriticality struct {
	Latency    float64 `json:"latency,omitempty"`
	Error      float64 `json:"error,omitempty"`
	Saturation float64 `json:"saturation,omitempty"`
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
// for New or Update. It checks the file's shape (unknown, miscased or
// repeated fields, types, durations, at most 8 MiB); New and Update check
// the values. The options describe the whole configuration: given to
// Update, they first put every setting a file can name back to its
// default and drop every route override, then set what the file names.
func ParseConfig(data []byte) ([]Option, error) {
	var fc fileConfig
	if err := decodeStrict(data, &fc); err != nil {
		return nil, err
	}
	return append([]Option{wholeConfig()}, fc.options()...), nil
}

// ParseRouteConfig reads one route's configuration: the JSON a
// configuration file has for a route under "routes" ({"slo": ...,
// "physics": ..., "autoTuner": ...}), with ParseConfig's checks. Given to
// WithRouteConfig in Update, it is the route's whole override: a section
// it does not name follows the engine-wide setting, and {} removes the
// override.
func ParseRouteConfig(data []byte) (RouteConfig, error) {
	var rc *fileRouteConfig
	if err := decodeStrict(data, &rc); err != nil {
		return RouteConfig{}, err
	}
	return rc.routeConfig(), nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields,
// keys that are not exactly a field's name, and keys given twice.
func decodeStrict(data []byte, v any) error {
	if len(data) > maxConfigFile {
		return fmt.Errorf("atrion: config: %d bytes, more than %d", len(data), maxConfigFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return configErr(err)
	}
	if dec.More() {
		return errors.New("atrion: config: more than one JSON value")
	}
	// the value parsed: walk it again for what the decoder forgives
	return exactKeys(json.NewDecoder(bytes.NewReader(data)), reflect.TypeOf(v).Elem(), "")
}

// exactKeys reads one JSON value from dec and refuses any object key that
// is not exactly the JSON name of a field of t (the decoder matches names
// case-insensitively, so "PHYSICS" would set physics, and of "physics" and
// "PHYSICS" the last would win), and any key given twice in one object,
// route IDs included. path names where the value is, for the error.
func exactKeys(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return configErr(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d == '[' {
		for dec.More() {
			if err := exactKeys(dec, nil, path+"[]"); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return configErr(err)
		}
		key := tok.(string)
		var field string
		var ft reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Map:
			field, ft = fmt.Sprintf("%s[%q]", path, truncate(key, 64)), t.Elem()
		case t != nil && t.Kind() == reflect.Struct:
			field = path + "." + key
			f, ok := jsonField(t, key)
			if !ok {
				return fmt.Errorf("atrion: config field %s: unknown%s", strings.TrimPrefix(field, "."), nameHint(t, key))
			}
			ft = f.Type
		default:
			field = path + "." + key
		}
		if seen[key] {
			return fmt.Errorf("atrion: config field %s: given twice", strings.TrimPrefix(field, "."))
		}
		seen[key] = true
		if err := exactKeys(dec, ft, field); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// jsonField returns t's field whose JSON name is exactly name.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// nameHint names the field name differs from only in case, if any.
func nameHint(t reflect.Type, name string) string {
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); strings.EqualFold(tag, name) {
			return fmt.Sprintf(" (names are case-sensitive: %q)", tag)
		}
	}
	return ""
}

// wholeConfig puts every setting a configuration file can name back to
// its default and drops every route override, so that the options after
// it describe the whole configuration (ParseConfig).
func wholeConfig() Option {
	return func(cfg *config) {
		cfg.slo, cfg.physics, cfg.tuner = SLO{}, PhysicsConfig{}, AutoTunerConfig{}
		cfg.routeCfg = nil
		cfg.maxRoutes, cfg.idleTTL = defaultMaxRoutes, defaultIdleTTL
	}
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

// options returns the options fc sets: only what it names (ParseConfig
// puts the rest back to the defaults first).
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
		opts = append(opts, WithRouteConfig(id, rc.routeConfig()))
	}
	if fc.MaxRoutes != 0 {
		opts = append(opts, WithMaxRoutes(fc.MaxRoutes))
	}
	if fc.IdleTTL != 0 {
		opts = append(opts, WithIdleTTL(time.Duration(fc.IdleTTL)))
	}
	return opts
}

// routeConfig is rc as a RouteConfig; nil is the empty one.
func (rc *fileRouteConfig) routeConfig() RouteConfig {
	var c RouteConfig
	if rc == nil {
		return c
	}
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
	return c
}

func (s *fileSLO) slo() SLO {
	return SLO{BaselineLatency: time.Duration(s.BaselineLatency), TargetErrorRate: s.TargetErrorRate, Criticality: Criticality(s.Criticality)}
}

func (p *filePhysics) physics() PhysicsConfig { return PhysicsConfig(*p) }

func (t *fileAutoTuner) tuner() AutoTunerConfig { return AutoTunerConfig(*t) }
