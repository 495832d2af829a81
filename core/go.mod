module github.com/atrion-go/atrion/core

go 1.26
