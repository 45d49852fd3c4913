# nhiscan — the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/nhiscan
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)

.PHONY: all build demo test test-short lint bench fuzz clean

all: lint test build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nhiscan

# The full pipeline on the built-in demo organisation: fake AWS, Azure, GCP
# and GitHub APIs in-process, real collectors, SQLite, HTML and evidence.
demo: build
	./$(BIN) demo --out nhiscan-demo

# Every test with the race detector, after formatting and vet checks.
test: lint
	$(GO) test -race -count=1 $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

lint:
	@out=$$(gofmt -l . 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Benchmarks behind BENCHMARKS.md (see each entry there for its exact command).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./analyzer/ ./internal/store/ ./reports/

# Every fuzz target for FUZZTIME each (issue 12: no crash in 60 s per
# target): the inventory decoder, the YAML loaders (strict YAML, catalog,
# configuration), the HR CSV reader and the output escaping.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/nhi/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/strictyaml/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./rules/catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzReadPeopleCSV$$' -fuzztime $(FUZZTIME) ./rules/catalog/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzTextsafe$$' -fuzztime $(FUZZTIME) ./internal/textsafe/

clean:
	rm -rf bin nhiscan-demo
