module github.com/atrion-go/atrion/observability/replay

go 1.26

require github.com/atrion-go/atrion/core v0.1.0

replace github.com/atrion-go/atrion/core => ../../core
