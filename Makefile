# nhiscan — the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/nhiscan
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)

.PHONY: all build demo test test-short lint bench fuzz screenshots clean

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

# The review page's screenshots in docs/, taken by the headless-Chromium test.
screenshots:
	$(GO) test -count=1 -run TestBrowserReview ./internal/web/ -update-screenshots

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 30s ./rules/catalog/

clean:
	rm -rf bin nhiscan-demo
