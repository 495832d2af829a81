# Every module listed in go.work.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)/||")
GO ?= go

.PHONY: test lint bench simulate stability-map demo fmt

## test: go vet and go test -race in every module; fails if any fails
test:
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 ./...); \
	done

## lint: gofmt, go vet, and core's no-dependency rule
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@! grep -q '^require' core/go.mod || { echo "core/go.mod must not require anything"; exit 1; }
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

## bench: Atrion Admit+Done beside the floor and every peer (serial and parallel), table in benchmarks/results
bench:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) test -run '^$$' -bench . -benchmem -count 8 -benchtime 500ms ./hotpath | tee results/bench.txt
	cd benchmarks && $(GO) run ./cmd/benchtable results/bench.txt

## simulate: the Wind Tunnel — every scenario against every contestant; scorecard and SVG charts in benchmarks/results/
simulate:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/simulate -out results

## stability-map: decay × scar factor × damping under an oscillating input; map and SVG heat map in benchmarks/results/
stability-map:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/stabilitymap -out results

## demo: gin service with Atrion beside an unprotected twin through fault phases, live table and dashboard (~1 min)
demo:
	cd examples/demo && $(GO) run .

fmt:
	gofmt -w .
