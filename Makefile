# izin — see README.md.
GO      ?= go
BIN     ?= ./bin/izin
CONFIG  ?= configs/izin.dev.yaml

.PHONY: build run test check lint bench-core fuzz fuzz-short

build:
	$(GO) build -o $(BIN) ./cmd/izin

# Runs izin against the local PostgreSQL and Redis (creating and migrating
# its database). The development Redis keeps nothing on disk, so the dev
# config sets queue.allow_volatile.
run: build
	$(BIN) serve --config $(CONFIG)

# The test command CI runs (.ci/run): static checks, then every test with
# the race detector against the real PostgreSQL and Redis.
test: lint
	$(GO) test -race -count=1 -timeout 40m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@# The domain depends on nothing of storage or transport (STYLE.md).
	@if $(GO) list -deps ./consent | grep -E 'jackc/pgx|redis/go-redis|emersion/go-smtp|gorilla/mux|^net/http$$'; then \
		echo "package consent must not depend on storage or transport code"; exit 1; fi

bench-core: build
	$(BIN) bench core --config $(CONFIG) --n 100000 --pgbench

# Every fuzz target for a while (crashers land in testdata/fuzz/ and become
# regression cases of `go test`). CI runs fuzz-short.
fuzz:
	scripts/fuzz.sh 2m

fuzz-short:
	scripts/fuzz.sh 5s

# Every channel at once against izin serve at a few offered rates, with
# pgbench and redis-benchmark for comparison: docs/bench/all.md and
# docs/bench/all-latency.svg. Starts its own izin serve (docs/bench/
# loadall.yaml: database izin_loadall, ports of its own) and stops it.
BENCH_CONFIG ?= docs/bench/loadall.yaml
BENCH_RATES  ?= 250,500,1000,2000
.PHONY: bench
bench: build
	$(BIN) migrate --config $(BENCH_CONFIG)
	-IZIN_PROVIDER_PASSWORD=s3cret-pass $(BIN) provider add --config $(BENCH_CONFIG) --iys-code 600100 --name ACME --username acme
	-$(BIN) brand add --config $(BENCH_CONFIG) --iys-code 600100 --brand-code 600101 --name ACME --short-name ACME
	$(BIN) serve --config $(BENCH_CONFIG) > $${TMPDIR:-/tmp}/izin-bench-serve.log 2>&1 & pid=$$!; \
	trap 'kill $$pid; wait $$pid' EXIT; \
	$(BIN) bench all --config $(BENCH_CONFIG) --rates $(BENCH_RATES) --step 20s --out docs/bench

# The fault run (issue 7), about 7 minutes: its own Redis (AOF) and
# PostgreSQL cluster on free ports, izin processes by role killed and
# restarted under SMS and API load; writes docs/chaos/REPORT.md and fails
# on any violated invariant. Needs root (PostgreSQL runs as postgres).
.PHONY: chaos
chaos: build
	$(BIN) chaos --duration 5m --out docs/chaos
