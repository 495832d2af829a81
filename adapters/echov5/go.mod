module github.com/atrion-go/atrion/adapters/echov5

go 1.26

require (
	github.com/atrion-go/atrion/adapters/internal v0.0.0
	github.com/atrion-go/atrion/core v0.0.0
	github.com/labstack/echo/v5 v5.4.4
)

replace (
	github.com/atrion-go/atrion/adapters/internal => ../internal
	github.com/atrion-go/atrion/core => ../../core
)
