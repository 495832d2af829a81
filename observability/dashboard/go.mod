module github.com/atrion-go/atrion/observability/dashboard

go 1.26.0

require (
	github.com/atrion-go/atrion/core v0.1.0
	github.com/atrion-go/atrion/observability/internal v0.1.0
	github.com/coreos/go-oidc/v3 v3.21.0
	golang.org/x/oauth2 v0.38.0
)

require github.com/go-jose/go-jose/v4 v4.1.4 // indirect

replace (
	github.com/atrion-go/atrion/core => ../../core
	github.com/atrion-go/atrion/observability/internal => ../internal
)
