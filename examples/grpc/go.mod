module github.com/atrion-go/atrion/examples/grpc

go 1.26.0

require (
	github.com/atrion-go/atrion/adapters/grpc v0.1.0
	github.com/atrion-go/atrion/core v0.1.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/atrion-go/atrion/adapters/internal v0.1.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/atrion-go/atrion/adapters/grpc => ../../adapters/grpc
	github.com/atrion-go/atrion/adapters/internal => ../../adapters/internal
	github.com/atrion-go/atrion/core => ../../core
)
