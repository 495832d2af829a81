module github.com/atrion-go/atrion/benchmarks

go 1.26.8

require github.com/atrion-go/atrion/core v0.0.0

require (
	github.com/alibaba/sentinel-golang v1.0.4 // indirect
	github.com/failsafe-go/failsafe-go v0.9.8 // indirect
	github.com/go-kratos/aegis v0.2.0 // indirect
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
)

replace github.com/atrion-go/atrion/core => ../core
