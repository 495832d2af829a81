# Every module listed in go.work.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)/||")
GO ?= go

.PHONY: test lint bench bench-adapters simulate loadtest stability-map demo fmt release

## test: go vet and go test -race in every module, then the allocation pins without the race detector; ends with every skipped test and why; fails if any fails
TEST_STATE := $(CURDIR)/.test/state.jsonl
SUMMARY := $(CURDIR)/.bin/testsummary
test:
	@mkdir -p .test .bin && rm -f $(TEST_STATE) && cd tools && $(GO) build -o $(SUMMARY) ./cmd/testsummary
	@fail=0; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(GO) vet ./...) || fail=1; \
		{ (cd $$m && $(GO) test -race -count=1 -json ./... 2>&1; echo $$? > $(CURDIR)/.test/rc) | $(SUMMARY) -state $(TEST_STATE); } || fail=1; \
		[ "$$(cat .test/rc)" = 0 ] || fail=1; \
	done; \
	echo "== allocation pins (the race detector makes allocation counts meaningless, so they skip above)"; \
	for m in $$(grep -l 'SkipAllocsUnderRace(t)' $$(git ls-files '*_test.go') | xargs -n1 dirname | sort -u); do \
		{ (cd $$m && $(GO) test -count=1 -run 'Alloc' -json . 2>&1; echo $$? > $(CURDIR)/.test/rc) | $(SUMMARY) -state $(TEST_STATE); } || fail=1; \
		[ "$$(cat .test/rc)" = 0 ] || fail=1; \
	done; \
	$(SUMMARY) -report -state $(TEST_STATE) || fail=1; \
	exit $$fail

## lint: gofmt, go vet, and core's no-dependency rule
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@! grep -q '^require' core/go.mod || { echo "core/go.mod must not require anything"; exit 1; }
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

## bench: Atrion Admit+Done beside the floor and every peer (serial and parallel), table in benchmarks/results (~2 min)
bench:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) test -c -o results/hotpath.test ./hotpath
	@# 8 rounds of one run of every benchmark: the subjects are interleaved in time
	cd benchmarks/hotpath && for i in 1 2 3 4 5 6 7 8; do \
		../results/hotpath.test -test.run '^$$' -test.bench . -test.benchmem -test.count 1 -test.benchtime 500ms || exit 1; \
	done | tee ../results/bench.txt
	cd benchmarks && $(GO) run ./cmd/benchtable results/bench.txt

## bench-adapters: each HTTP framework bare and with its adapter (GOMAXPROCS 1 and 2), what the adapter adds (~3 min)
bench-adapters:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) test -c -o results/httpadapters.test ./httpadapters
	cd benchmarks/httpadapters && for i in 1 2 3 4 5 6 7 8; do \
		../results/httpadapters.test -test.run '^$$' -test.bench . -test.benchmem -test.count 1 -test.benchtime 300ms -test.cpu 1,2 || exit 1; \
	done | tee ../results/adapters.txt
	cd benchmarks && $(GO) run ./cmd/benchtable -base bare -floor '' -added results/adapters.txt

## simulate: the Wind Tunnel — every scenario against every contestant, seeds 1–3; scorecard (each seed and the mean), JSON per seed and SVG charts in benchmarks/results/
simulate:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/simulate -seeds 1,2,3 -out results -json results/scorecard-seed%d.json

## loadtest: real processes on 127.0.0.1 (backend, a gin front per contestant, open-loop generator), every scenario, 2 interleaved rounds; tables in benchmarks/results/ (~12 min); LOADTEST_FLAGS="-scenarios shares" runs the scenarios of shared capacity alone (~6 min)
LOADTEST_FLAGS ?=
loadtest:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/loadtest -out results $(LOADTEST_FLAGS)

## stability-map: decay × scar factor × damping under an oscillating input; map and SVG heat map in benchmarks/results/
stability-map:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/stabilitymap -out results

## demo: gin service with Atrion beside an unprotected twin through fault phases, live table and dashboard (~1 min; the first compile ~1 min more); DEMO_FLAGS="-keep" etc.
demo:
	@echo "make demo: compiling the demo (gin, Atrion's adapter, the dashboard): up to a minute the first time, seconds after that"
	@mkdir -p .bin && cd examples/demo && $(GO) build -o $(CURDIR)/.bin/demo .
	@echo "make demo: running it (about a minute of phases; Ctrl-C stops it)"
	@.bin/demo $(DEMO_FLAGS)

fmt:
	gofmt -w .

## release: VERSION=v0.1.0 — check the tree (clean, siblings required at VERSION), lint and test, then tag every module locally (core/VERSION, adapters/gin/VERSION, …); pushes nothing
RELEASE_CHECKS ?= lint test
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=v0.1.0"; exit 2; }
	cd tools && $(GO) run ./cmd/release -check $(VERSION)
	@$(if $(strip $(RELEASE_CHECKS)),$(MAKE) --no-print-directory $(RELEASE_CHECKS),echo "release: RELEASE_CHECKS is empty: no lint, no tests")
	cd tools && $(GO) run ./cmd/release -tag $(VERSION)
