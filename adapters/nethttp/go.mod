module github.com/atrion-go/atrion/adapters/nethttp

go 1.26

require (
	github.com/atrion-go/atrion/adapters/internal v0.1.0
	github.com/atrion-go/atrion/core v0.1.0
)

replace (
	github.com/atrion-go/atrion/adapters/internal => ../internal
	github.com/atrion-go/atrion/core => ../../core
)
