// Package autoscaling holds Kubernetes manifests that scale a service on
// the load Atrion measures (docs/autoscaling.md): a Deployment whose
// probes do not read Atrion, a prometheus-adapter rule serving the custom
// metric atrion_load, a HorizontalPodAutoscaler on it, and a KEDA
// ScaledObject with a Prometheus trigger on the demand gauge. No cluster
// runs here: the test parses the manifests, checks their fields, checks
// that every series they read is one atrprom publishes, and checks their
// PromQL with promtool.
package autoscaling
