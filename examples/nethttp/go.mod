module github.com/atrion-go/atrion/examples/nethttp

go 1.26

require (
	github.com/atrion-go/atrion/adapters/nethttp v0.1.0
	github.com/atrion-go/atrion/examples/internal v0.1.0
)

require github.com/atrion-go/atrion/core v0.1.0 // indirect

replace (
	github.com/atrion-go/atrion/adapters/internal => ../../adapters/internal
	github.com/atrion-go/atrion/adapters/nethttp => ../../adapters/nethttp
	github.com/atrion-go/atrion/core => ../../core
	github.com/atrion-go/atrion/examples/internal => ../internal
)
