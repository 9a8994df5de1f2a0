# aimsvault: `make help` lists the targets.

GO       ?= go
BIN      := bin/aimsvault
CONFIG   ?= config.example.yaml
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BENCHTIME ?= 3x

.PHONY: help build test run demo walkthrough measure-idle bench soak lint fuzz tidy-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

build: ## build bin/aimsvault
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/aimsvault

test: ## run every test, with the race detector (no network)
	$(GO) test -race -count=1 ./...

run: build ## init (if needed), then serve config.example.yaml until Ctrl-C
	./$(BIN) --config $(CONFIG) init
	./$(BIN) --config $(CONFIG) serve

demo: build ## the daemon on a temporary vault with simulators of every upstream, until Ctrl-C
	./$(BIN) demo

walkthrough: build ## init (if needed), collect once and show coverage with config.example.yaml
	./$(BIN) --config $(CONFIG) init
	./$(BIN) --config $(CONFIG) collect
	./$(BIN) --config $(CONFIG) coverage

measure-idle: ## RSS and CPU of serve idling with 10 connectors (Linux)
	scripts/measure-idle.sh

API_BENCHTIME ?= 1000x
API_BENCH_RECORDS ?= 200000

bench: ## run the benchmarks (ingest rate, 1 GiB artifact, verify of 100k records, API list p50/p99)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m $$($(GO) list ./... | grep -v '/server/api$$')
	AIMSVAULT_BENCH_RECORDS=$(API_BENCH_RECORDS) $(GO) test -run '^$$' -bench EvidenceList -benchtime $(API_BENCHTIME) -timeout 60m ./server/api/

SOAK_KILLS   ?= 200
SOAK_RECORDS ?= 1000000
soak: ## crash soak (SOAK_KILLS=200 SIGKILLs) and the million-record vault's figures (SOAK_RECORDS)
	AIMSVAULT_CRASH_KILLS=$(SOAK_KILLS) AIMSVAULT_CRASH_ARTIFACTS=5000 AIMSVAULT_READERS_ARTIFACTS=50000 \
	  $(GO) test -count=1 -timeout 120m -v -run '^TestCrash_' ./e2e/
	AIMSVAULT_SCALE_RECORDS=$(SOAK_RECORDS) $(GO) test -count=1 -timeout 120m -v -run '^TestScale_MillionRecords$$' ./e2e/

lint: ## gofmt, go vet, go.mod tidy, stray files
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@stray=$$(git ls-files --others --exclude-standard -- '*.bak' '*.orig' '*.backup' '*~'); \
	  if [ -n "$$stray" ]; then echo "stray files:"; echo "$$stray"; exit 1; fi

FUZZTIME ?= 20s
fuzz: ## run each fuzz target briefly (FUZZTIME=20s)
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./config/
	for f in FuzzVerify FuzzParseManifest FuzzDecodeManifest FuzzParseProof; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./evidence/bundle/ || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzFrontMatter$$' -fuzztime $(FUZZTIME) ./connectors/files/
	$(GO) test -run '^$$' -fuzz '^FuzzIssue$$' -fuzztime $(FUZZTIME) ./connectors/jira/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifiedMark$$' -fuzztime $(FUZZTIME) ./evidence/

tidy-check: ## go.mod and go.sum are tidy
	$(GO) mod tidy -diff

clean: ## remove build output (not the vault)
	rm -rf bin
