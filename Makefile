# aimsvault: `make help` lists the targets.

GO       ?= go
BIN      := bin/aimsvault
CONFIG   ?= config.example.yaml
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BENCHTIME ?= 3x

.PHONY: help build test run demo measure-idle bench lint fuzz tidy-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

build: ## build bin/aimsvault
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/aimsvault

test: ## run every test, with the race detector (no network)
	$(GO) test -race -count=1 ./...

run: build ## init (if needed), then serve config.example.yaml until Ctrl-C
	./$(BIN) --config $(CONFIG) init
	./$(BIN) --config $(CONFIG) serve

demo: build ## init (if needed), collect once and show coverage with config.example.yaml
	./$(BIN) --config $(CONFIG) init
	./$(BIN) --config $(CONFIG) collect
	./$(BIN) --config $(CONFIG) coverage

measure-idle: ## RSS and CPU of serve idling with 10 connectors (Linux)
	scripts/measure-idle.sh

bench: ## run the benchmarks (ingest rate, 1 GiB artifact, verify of 100k records)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m ./...

lint: ## gofmt, go vet, stray files
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@stray=$$(git ls-files --others --exclude-standard -- '*.bak' '*.orig' '*.backup' '*~'); \
	  if [ -n "$$stray" ]; then echo "stray files:"; echo "$$stray"; exit 1; fi

FUZZTIME ?= 20s
fuzz: ## run each fuzz target briefly (FUZZTIME=20s)
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./config/
	for f in FuzzVerify FuzzParseManifest FuzzDecodeManifest FuzzParseProof; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./evidence/bundle/ || exit 1; done

tidy-check: ## go.mod and go.sum are tidy
	$(GO) mod tidy -diff

clean: ## remove build output (not the vault)
	rm -rf bin
