module github.com/atrion-go/atrion/examples/echov5

go 1.26

require (
	github.com/atrion-go/atrion/adapters/echov5 v0.1.0
	github.com/atrion-go/atrion/examples/internal v0.1.0
	github.com/labstack/echo/v5 v5.4.4
)

require (
	github.com/atrion-go/atrion/adapters/internal v0.1.0 // indirect
	github.com/atrion-go/atrion/core v0.1.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace (
	github.com/atrion-go/atrion/adapters/echov5 => ../../adapters/echov5
	github.com/atrion-go/atrion/adapters/internal => ../../adapters/internal
	github.com/atrion-go/atrion/core => ../../core
	github.com/atrion-go/atrion/examples/internal => ../internal
)
