package atrotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Option configures RegisterMetrics.
type Option func(*config)

type config struct {
	mp    metric.MeterProvider
	attrs []attribute.KeyValue
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	return c
}

// WithMeterProvider sets the MeterProvider the instruments are created on.
// Default (and when mp is nil): the global one, otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithAttributes adds attributes to every observation, e.g. to tell two
// engines in one process apart. Keys starting with "atrion." are the
// package's own: RegisterMetrics refuses them.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}
