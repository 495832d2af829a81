module github.com/atrion-go/atrion/examples/internal

go 1.26
