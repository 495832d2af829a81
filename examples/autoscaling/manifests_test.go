package autoscaling_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v2"
)

// The manifests are parsed with go.yaml.in/yaml/v2, the YAML parser that
// client_golang already brings into the module graph (through
// prometheus/common). Fields the structs below do not name are ignored.

type meta struct {
	Name, Namespace string
}

type targetRef struct {
	APIVersion string `yaml:"apiVersion"`
	Kind, Name string
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

type deployment struct {
	Metadata meta
	Spec     struct {
		Replicas int
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct {
				Labels      map[string]string
				Annotations map[string]string
			}
			Spec struct {
				Containers []struct {
					Name  string
					Ports []struct {
						Name          string
						ContainerPort int `yaml:"containerPort"`
					}
					ReadinessProbe *probe `yaml:"readinessProbe"`
					LivenessProbe  *probe `yaml:"livenessProbe"`
				}
			}
		}
	}
}

type hpa struct {
	Metadata meta
	Spec     struct {
		ScaleTargetRef targetRef `yaml:"scaleTargetRef"`
		MinReplicas    int       `yaml:"minReplicas"`
		MaxReplicas    int       `yaml:"maxReplicas"`
		Metrics        []struct {
			Type string
			Pods *struct {
				Metric struct{ Name string }
				Target struct {
					Type         string
					AverageValue string `yaml:"averageValue"`
				}
			}
		}
	}
}

type adapterRules struct {
	Rules []struct {
		SeriesQuery string `yaml:"seriesQuery"`
		Resources   struct {
			Overrides map[string]struct{ Resource string }
		}
		Name struct {
			Matches, As string
		}
		MetricsQuery string `yaml:"metricsQuery"`
	}
}

type scaledObject struct {
	Metadata meta
	Spec     struct {
		ScaleTargetRef  targetRef `yaml:"scaleTargetRef"`
		MinReplicaCount int       `yaml:"minReplicaCount"`
		MaxReplicaCount int       `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type       string
			MetricType string `yaml:"metricType"`
			Metadata   map[string]string
		}
	}
}

// header is what every manifest starts with.
type header struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
}

// manifests reads every document of every *.yaml file here, by kind: the
// raw document (to decode into its struct) and the file it came from.
func manifests(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("manifests: %v, %v", files, err)
	}
	byKind := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.MapSlice
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			raw, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var h header
			if err := yaml.Unmarshal(raw, &h); err != nil || h.APIVersion == "" || h.Kind == "" {
				t.Fatalf("%s: a document without apiVersion and kind (%v)", f, err)
			}
			key := h.APIVersion + " " + h.Kind
			if _, dup := byKind[key]; dup {
				t.Fatalf("%s: a second %s", f, key)
			}
			byKind[key] = raw
		}
	}
	return byKind
}

func decode(t *testing.T, docs map[string][]byte, key string, v any) {
	t.Helper()
	raw, ok := docs[key]
	if !ok {
		t.Fatalf("no %s manifest", key)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// TestManifests checks the fields that make the example work: the HPA
// and the ScaledObject scale the Deployment, on a metric the adapter rule
// serves, with sane bounds and targets; the probes read the pod's own
// endpoints, never Atrion's state.
func TestManifests(t *testing.T) {
	docs := manifests(t)
	var dep deployment
	decode(t, docs, "apps/v1 Deployment", &dep)
	var h hpa
	decode(t, docs, "autoscaling/v2 HorizontalPodAutoscaler", &h)
	var so scaledObject
	decode(t, docs, "keda.sh/v1alpha1 ScaledObject", &so)
	var cm struct {
		Metadata meta
		Data     map[string]string
	}
	decode(t, docs, "v1 ConfigMap", &cm)
	var rules adapterRules
	if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &rules); err != nil || len(rules.Rules) != 1 {
		t.Fatalf("prometheus-adapter config.yaml: %v, %d rules", err, len(rules.Rules))
	}

	// the Deployment
	pod := dep.Spec.Template
	for k, v := range dep.Spec.Selector.MatchLabels {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels %v", k, v, pod.Metadata.Labels)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if got := pod.Metadata.Annotations["prometheus.io/port"]; got != strconv.Itoa(ports["metrics"]) {
		t.Errorf("scrape port %q, want the metrics port %d", got, ports["metrics"])
	}
	for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no %s probe", name)
			continue
		}
		if _, ok := ports[p.HTTPGet.Port]; !ok {
			t.Errorf("%s probe on port %q, which the container does not name", name, p.HTTPGet.Port)
		}
		if path := strings.ToLower(p.HTTPGet.Path); strings.Contains(path, "atrion") || strings.Contains(path, "metrics") {
			t.Errorf("%s probe reads %s: probes must not read Atrion's state (docs/autoscaling.md)", name, p.HTTPGet.Path)
		}
	}
	if c.ReadinessProbe != nil && c.LivenessProbe != nil && c.ReadinessProbe.HTTPGet.Path == c.LivenessProbe.HTTPGet.Path {
		t.Error("readiness and liveness share one endpoint: they answer different questions")
	}

	// the HPA on the adapter's metric
	rule := rules.Rules[0]
	if h.Spec.ScaleTargetRef != (targetRef{"apps/v1", "Deployment", dep.Metadata.Name}) || h.Metadata.Namespace != dep.Metadata.Namespace {
		t.Errorf("HPA scales %+v in %s, want the Deployment %s in %s", h.Spec.ScaleTargetRef, h.Metadata.Namespace, dep.Metadata.Name, dep.Metadata.Namespace)
	}
	if h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas <= h.Spec.MinReplicas {
		t.Errorf("HPA replicas %d..%d: want at least 2, and room to grow", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Type != "Pods" || h.Spec.Metrics[0].Pods == nil {
		t.Fatalf("HPA metrics %+v: want one Pods metric", h.Spec.Metrics)
	}
	m := h.Spec.Metrics[0].Pods
	if m.Metric.Name != rule.Name.As {
		t.Errorf("HPA reads %q, the adapter serves %q", m.Metric.Name, rule.Name.As)
	}
	if v := milli(t, m.Target.AverageValue); m.Target.Type != "AverageValue" || v <= 0.5 || v >= 1 {
		t.Errorf("HPA target %s %q: want an AverageValue below 1 (a share of capacity), above 0.5", m.Target.Type, m.Target.AverageValue)
	}
	if rule.Resources.Overrides["pod"].Resource != "pod" || rule.Resources.Overrides["namespace"].Resource != "namespace" {
		t.Errorf("adapter rule maps %v: want pod and namespace", rule.Resources.Overrides)
	}
	if !regexp.MustCompile(rule.Name.Matches).MatchString(seriesName.FindString(rule.SeriesQuery)) {
		t.Errorf("adapter rule's name pattern %q does not match its series %q", rule.Name.Matches, rule.SeriesQuery)
	}

	// the ScaledObject on the demand gauge
	if so.Spec.ScaleTargetRef != (targetRef{"apps/v1", "Deployment", dep.Metadata.Name}) || so.Metadata.Namespace != dep.Metadata.Namespace {
		t.Errorf("ScaledObject scales %+v in %s", so.Spec.ScaleTargetRef, so.Metadata.Namespace)
	}
	if so.Spec.MinReplicaCount < 2 || so.Spec.MaxReplicaCount <= so.Spec.MinReplicaCount {
		t.Errorf("ScaledObject replicas %d..%d", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" || so.Spec.Triggers[0].MetricType != "AverageValue" {
		t.Fatalf("ScaledObject triggers %+v: want one prometheus trigger, AverageValue", so.Spec.Triggers)
	}
	tr := so.Spec.Triggers[0].Metadata
	if th, err := strconv.ParseFloat(tr["threshold"], 64); err != nil || th <= 0.5 || th >= 1 {
		t.Errorf("threshold %q: want a share of capacity below 1, above 0.5", tr["threshold"])
	}
	if !strings.HasPrefix(tr["serverAddress"], "http") || !strings.Contains(tr["query"], "atrion_route_demand") {
		t.Errorf("trigger %v: want a Prometheus address and a query on atrion_route_demand", tr)
	}
	if !strings.HasPrefix(strings.TrimSpace(tr["query"]), "sum(") {
		t.Errorf("query %q: AverageValue divides the query's value by the threshold, so it must sum the pods' load", tr["query"])
	}
}

// milli parses a Kubernetes quantity such as 800m or 1.
func milli(t *testing.T, q string) float64 {
	t.Helper()
	scale := 1.0
	if s, ok := strings.CutSuffix(q, "m"); ok {
		q, scale = s, 1e-3
	}
	v, err := strconv.ParseFloat(q, 64)
	if err != nil {
		t.Fatalf("quantity %q: %v", q, err)
	}
	return v * scale
}

var seriesName = regexp.MustCompile(`\batrion_[a-z_]+\b`)

// Every atrion_ series the manifests name is one atrprom publishes with
// CapacityFamilies, which is what a service that autoscales must
// publish at least; the metric the adapter serves under its own name is
// not a series.
func TestManifestsReadPublishedSeries(t *testing.T) {
	a := atriontest.NewEngine(t)
	atriontest.Send(a, "GET /products/:id", 3, atrion.Success)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(atrprom.NewCollector(a, atrprom.WithFamilies(atrprom.CapacityFamilies...)))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, mf := range mfs {
		published[mf.GetName()] = true
	}
	var rules adapterRules
	var cm struct{ Data map[string]string }
	decode(t, manifests(t), "v1 ConfigMap", &cm)
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &rules); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.yaml")
	read := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue // comments may name anything
			}
			for _, n := range seriesName.FindAllString(line, -1) {
				if n == rules.Rules[0].Name.As {
					continue
				}
				read++
				if !published[n] {
					t.Errorf("%s reads %s, which atrprom does not publish with CapacityFamilies", f, n)
				}
			}
		}
	}
	if read < 6 {
		t.Errorf("the manifests read %d series: want the adapter's and KEDA's queries", read)
	}
}

// The queries are valid PromQL: promtool checks them as recording rules,
// the adapter's with its template filled in as the adapter would.
func TestQueriesArePromQL(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool not found (Debian package prometheus)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: a missing tool fails)")
		}
		t.Skip(msg)
	}
	docs := manifests(t)
	var cm struct{ Data map[string]string }
	decode(t, docs, "v1 ConfigMap", &cm)
	var rules adapterRules
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &rules); err != nil {
		t.Fatal(err)
	}
	var so scaledObject
	decode(t, docs, "keda.sh/v1alpha1 ScaledObject", &so)
	fill := strings.NewReplacer("<<.LabelMatchers>>", `namespace="shop",pod="shop-0"`, "<<.GroupBy>>", "namespace, pod")
	queries := []string{fill.Replace(rules.Rules[0].MetricsQuery), rules.Rules[0].SeriesQuery, so.Spec.Triggers[0].Metadata["query"]}
	var b strings.Builder
	b.WriteString("groups:\n  - name: autoscaling\n    rules:\n")
	for i, q := range queries {
		fmt.Fprintf(&b, "      - record: autoscaling:query_%d\n        expr: %s\n", i, strconv.Quote(q))
	}
	file := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b.String())
	}
}
