module github.com/atrion-go/atrion/examples/autoscaling

go 1.26.0

require (
	github.com/atrion-go/atrion/core v0.1.0
	github.com/atrion-go/atrion/observability/prometheus v0.1.0
	github.com/prometheus/client_golang v1.25.0
	go.yaml.in/yaml/v2 v2.4.4
)

require (
	github.com/atrion-go/atrion/observability/internal v0.1.0 // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/atrion-go/atrion/core => ../../core
	github.com/atrion-go/atrion/observability/internal => ../../observability/internal
	github.com/atrion-go/atrion/observability/prometheus => ../../observability/prometheus
)
