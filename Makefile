# nhiscan — the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/nhiscan
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)

.PHONY: all build demo test test-short lint bench fuzz screenshots clean node-deps conformance conformance-azure

all: lint test build

# A static binary (modernc.org/sqlite needs no cgo). The Dockerfile builds
# with the same flags (deploy/deploy_test.go compares them).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nhiscan

# The full pipeline on the built-in demo organisation: fake AWS, Azure, GCP
# and GitHub APIs in-process, real collectors, SQLite, HTML and evidence.
demo: build
	./$(BIN) demo --out nhiscan-demo

# Every test with the race detector, after formatting and vet checks. The
# conformance tests against the providers' official descriptions are among
# them; node-deps installs what they need first.
test: lint node-deps
	$(GO) test -race -count=1 $(PKGS)

# The npm packages of the conformance tests (pinned in each folder's
# package.json and package-lock.json), installed with `npm ci` when the
# lock file is newer than the install. Without npm the conformance tests
# skip, saying so; in CI (CI set) that is an error.
NODE_PKGS ?= collectors/github/conformance collectors/azure/conformance
node-deps:
	@for d in $(NODE_PKGS); do \
	  if [ -f $$d/node_modules/.package-lock.json ] && [ $$d/node_modules/.package-lock.json -nt $$d/package-lock.json ]; then continue; fi; \
	  if command -v npm >/dev/null 2>&1; then \
	    echo "npm ci in $$d"; (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  elif [ -n "$$CI" ]; then echo "npm is needed for the conformance tests in $$d" >&2; exit 1; \
	  else echo "npm not found: the conformance tests in $$d will skip"; fi; \
	done

# The collectors against the providers' official API descriptions only.
conformance: node-deps
	$(GO) test -race -count=1 ./collectors/github/conformance/

# The azurefake conformance test against Microsoft Graph's metadata (npm
# packages pinned in collectors/azure/conformance; make test runs the same
# test, and skips it when the packages are not installed).
conformance-azure: node-deps
	NHISCAN_AZURE_CONFORMANCE=required $(GO) test -count=1 ./collectors/azure/conformance/

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
# configuration), the HR CSV reader and the output escaping. Minimising a
# new input is capped at 2 s: the seeds are whole inventories and
# configurations, and the default (60 s) would spend a target's whole time
# minimising the first input it finds.
FUZZTIME ?= 60s
FUZZFLAGS = -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2s

# The review page's screenshots in docs/, taken by the headless-Chromium test.
screenshots:
	$(GO) test -count=1 -run TestBrowserReview ./internal/web/ -update-screenshots

fuzz:
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzDecode$$' ./internal/nhi/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzDecode$$' ./internal/strictyaml/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzPrescanIsAnUpperBound$$' ./internal/strictyaml/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzLoad$$' ./rules/catalog/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzReadPeopleCSV$$' ./rules/catalog/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzLoad$$' ./internal/config/
	$(GO) test $(FUZZFLAGS) -fuzz '^FuzzTextsafe$$' ./internal/textsafe/

clean:
	rm -rf bin nhiscan-demo
