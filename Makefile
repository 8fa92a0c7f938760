# singerkit: Singer taps and targets in Go.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/singerkit/singerkit/internal/cli.Version=$(VERSION)
BINARIES := $(notdir $(wildcard cmd/*))
# target-duckdb links DuckDB (C++) through cgo: the one binary built with
# CGO_ENABLED=1. Every other binary stays pure Go and static.
CGO_BINARIES := target-duckdb
STATIC_PKGS := $(addprefix ./cmd/,$(filter-out $(CGO_BINARIES),$(BINARIES)))
STATICCHECK ?= v0.8.2

.PHONY: all build test test-short test-bigquery test-kafka bench demo docs lint services clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(STATIC_PKGS)
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(CGO_BINARIES))

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

test: lint build test-bigquery test-kafka
	$(GO) test -race -count=1 ./...

# The BigQuery suite runs against an in-process emulator, in a module of its
# own so that the emulator stays out of the binaries' build.
test-bigquery:
	cd targets/bigquery/emulatortest && $(GO) vet ./... && $(GO) test -count=1 -timeout 30m ./...

# target-kafka and tap-kafka run against kfake (franz-go's in-process Kafka),
# in a module of its own so that kfake stays out of the binaries' build.
test-kafka:
	cd targets/kafka/kfaketest && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 10m ./...

test-short:
	$(GO) test -short ./...

bench: build
	bash scripts/bench.sh

demo: build
	bash scripts/demo.sh

# Rewrite the generated settings tables of docs/<binary>.md from each
# binary's `--about --format markdown`; `go test ./docs/` fails when they drift.
docs:
	SINGERKIT_UPDATE_DOCS=1 $(GO) test -count=1 -run TestPagesMatchBinaries ./docs/

services:
	bash scripts/services.sh

clean:
	rm -rf $(BIN) .bench demo-out
