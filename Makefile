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

# Load runs (issue 7), each against an izin serve of its own on a fresh
# database (scripts/bench.sh, docs/bench/loadall.yaml), writing a table and
# a plot of latency against offered rate (all.md, all-latency.svg):
#   bench        every channel at once, mixed as in docs/bench/all.md, with
#                pgbench and redis-benchmark in the same run  → docs/bench
#   bench-sms    SMS only, stepping up to the ceiling        → docs/bench/sms
#   bench-batch  provider batches of 1000 consents           → docs/bench/batch
# About 3, 6 and 5 minutes.
BENCH_CONFIG ?= docs/bench/loadall.yaml
BENCH_RATES  ?= 250,500,1000,2000
.PHONY: bench bench-sms bench-batch
bench: build
	BIN=$(BIN) BENCH_CONFIG=$(BENCH_CONFIG) scripts/bench.sh docs/bench $(BENCH_RATES) --step 20s

bench-sms: build
	BIN=$(BIN) BENCH_CONFIG=$(BENCH_CONFIG) scripts/bench.sh docs/bench/sms 1000,2000,3000,4000,5000,6000,7000 --mix sms=100 --step 20s --drain 30s

bench-batch: build
	BIN=$(BIN) BENCH_CONFIG=$(BENCH_CONFIG) scripts/bench.sh docs/bench/batch 10000,15000,20000,22000,25000 --mix batch=100 --batch-size 1000 --step 25s --drain 60s --baseline=false

# The fault run (issue 7), about 7 minutes: its own Redis (AOF) and
# PostgreSQL cluster on free ports, izin processes by role killed and
# restarted under SMS and API load; writes docs/chaos/REPORT.md and fails
# on any violated invariant. Needs root (PostgreSQL runs as postgres).
.PHONY: chaos
chaos: build
	$(BIN) chaos --duration 5m --out docs/chaos
