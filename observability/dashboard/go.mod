module github.com/atrion-go/atrion/observability/dashboard

go 1.26

require (
	github.com/atrion-go/atrion/core v0.1.0
	github.com/atrion-go/atrion/observability/internal v0.1.0
)

replace (
	github.com/atrion-go/atrion/core => ../../core
	github.com/atrion-go/atrion/observability/internal => ../internal
)
