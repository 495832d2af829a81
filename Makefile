# Every module listed in go.work.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)/||")
GO ?= go

.PHONY: test lint bench bench-adapters simulate loadtest loadtest-grpc stability-map demo fmt release soak

## test: go vet and go test -race in every module, then the allocation pins without the race detector; ends with every skipped test and why; fails if any fails
## Long steps print what they are doing every 10 s of silence (tools/cmd/progress, testsummary -every);
## the helpers themselves are built outside the workspace (GOWORK=off: tools' own go.mod, no workspace
## graph to download) under a shell loop that says the same, since they cannot report their own build.
TEST_STATE := $(CURDIR)/.test/state.jsonl
SUMMARY := $(CURDIR)/.bin/testsummary
PROGRESS := $(CURDIR)/.bin/progress
# $(call ticking,COMMAND,WHAT): runs COMMAND, printing "… WHAT: N s" every 10 s while it runs
ticking = $(1) & pid=$$!; s=0; while kill -0 $$pid 2>/dev/null; do sleep 1; s=$$((s+1)); [ $$((s % 10)) != 0 ] || echo "… $(2): $$s s"; done; wait $$pid
HELPERS := $(wildcard tools/cmd/progress/*.go tools/cmd/testsummary/*.go tools/internal/heartbeat/*.go tools/go.mod)
.bin/helpers: $(HELPERS)
	@echo "building make's helpers (tools/cmd/progress, testsummary): about a minute from an empty build cache"
	@mkdir -p .bin && cd tools && $(call ticking,GOWORK=off $(GO) build -o $(CURDIR)/.bin/ ./cmd/progress ./cmd/testsummary,building the helpers) && echo "make's helpers built in $$s s"
	@touch $@
test: .bin/helpers
	@mkdir -p .test && rm -f $(TEST_STATE)
	@fail=0; for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && $(PROGRESS) -label "go vet $$m" -- $(GO) vet ./...) || fail=1; \
		{ (cd $$m && $(GO) test -race -count=1 -timeout 30m -json ./... 2>&1; echo $$? > $(CURDIR)/.test/rc) | $(SUMMARY) -state $(TEST_STATE) -label "go test $$m"; } || fail=1; \
		[ "$$(cat .test/rc)" = 0 ] || fail=1; \
	done; \
	echo "== allocation pins and goodput (the race detector makes allocation counts and throughput meaningless, so they skip above)"; \
	for m in $$(grep -l 'SkipAllocsUnderRace(t)' $$(git ls-files '*_test.go') | xargs -n1 dirname | sort -u); do \
		{ (cd $$m && $(GO) test -count=1 -run 'Alloc|Goodput' -json . 2>&1; echo $$? > $(CURDIR)/.test/rc) | $(SUMMARY) -state $(TEST_STATE) -label "allocation pins $$m"; } || fail=1; \
		[ "$$(cat .test/rc)" = 0 ] || fail=1; \
	done; \
	$(SUMMARY) -report -state $(TEST_STATE) || fail=1; \
	exit $$fail

## lint: gofmt, go vet, and core's no-dependency rule
lint: .bin/helpers
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@! grep -q '^require' core/go.mod || { echo "core/go.mod must not require anything"; exit 1; }
	@set -e; for m in $(MODULES); do (cd $$m && $(PROGRESS) -label "go vet $$m" -- $(GO) vet ./...); done

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

## loadtest-grpc: a grpc-go server (8 workers × 40 ms) per contestant on 127.0.0.1, open-loop client; overload 3×/10×, mixed 60/500 ms deadlines at 2×; 2 interleaved rounds; table and pass criteria in benchmarks/results/grpcload.md, exit 1 on a miss (~6 min). BEFORE=DIR (another atrgrpc, e.g. main's adapters/grpc) runs its Atrion beside this tree's as atrion-before (~8 min)
loadtest-grpc:
	@mkdir -p benchmarks/results .bin
	cd benchmarks && $(GO) build -o ../.bin/grpcload ./cmd/grpcload
ifneq ($(BEFORE),)
	sed 's#^replace github.com/atrion-go/atrion/adapters/grpc => .*#replace github.com/atrion-go/atrion/adapters/grpc => $(abspath $(BEFORE))#' benchmarks/go.mod > .bin/grpcload-before.mod
	cp benchmarks/go.sum .bin/grpcload-before.sum
	cd benchmarks && GOWORK=off GOFLAGS=-mod=mod $(GO) build -modfile=../.bin/grpcload-before.mod -o ../.bin/grpcload-before ./cmd/grpcload
	cd benchmarks && ../.bin/grpcload -out results -before ../.bin/grpcload-before
else
	cd benchmarks && ../.bin/grpcload -out results
endif

## soak: an hour (SOAK=1h) of gin + atrgin under mixed traffic with route and key churn, live reloads, an observer, the audit file, scrapes and overload phases that make it shed; RSS, heap, goroutines and FDs each minute, table in benchmarks/results/soak.md (make test runs 25 s of it)
SOAK ?= 1h
soak:
	@mkdir -p benchmarks/results
	cd benchmarks && ATRION_SOAK=$(SOAK) ATRION_SOAK_OUT=$(CURDIR)/benchmarks/results/soak.md $(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./soak

## stability-map: decay × scar factor × damping under an oscillating input; map and SVG heat map in benchmarks/results/
stability-map:
	@mkdir -p benchmarks/results
	cd benchmarks && $(GO) run ./cmd/stabilitymap -out results

## demo: gin service with Atrion beside an unprotected twin through fault phases, live table and dashboard (~1 min; the first compile takes minutes: 8 min 18 s to the first frame from empty caches on a busy 2-core VM, 8 s once built); DEMO_FLAGS="-keep" etc.
demo:
	@echo "make demo: compiling the demo (gin, Atrion's adapter, the dashboard): minutes the first time (7 min from empty caches on this busy 2-core VM), seconds after that"
	@$(MAKE) --no-print-directory .bin/helpers
	@cd examples/demo && $(PROGRESS) -label "make demo: compiling" -packages -- $(GO) build -v -o $(CURDIR)/.bin/demo .
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
