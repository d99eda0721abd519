#!/usr/bin/env bash
# One load run of `izin bench all` against an `izin serve` of its own, on a
# fresh database (so runs compare: the same empty tables, no backlog of
# confirmations from an earlier run), as the Makefile's bench targets
# call it:
#
#   scripts/bench.sh OUT RATES [bench all flags...]
#
# It reads docs/bench/loadall.yaml (BENCH_CONFIG): database izin_loadall,
# the stream izin:loadall:commands and ports of its own. It drops that
# database and those Redis keys before and after, starts izin serve, runs
# the bench, and stops izin serve. Needs psql and redis-cli beside izin.
set -euo pipefail
out=$1 rates=$2
shift 2
BIN=${BIN:-./bin/izin}
CONFIG=${BENCH_CONFIG:-docs/bench/loadall.yaml}
db_url=$(awk '/^database_url:/ {print $2}' "$CONFIG")
admin_url=${db_url/\/izin_loadall/\/postgres}

clean() {
  psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS izin_loadall WITH (FORCE)'
  redis-cli --scan --pattern 'izin:loadall:*' | xargs -r redis-cli del >/dev/null
}
clean
"$BIN" migrate --config "$CONFIG"
IZIN_PROVIDER_PASSWORD=s3cret-pass "$BIN" provider add --config "$CONFIG" --iys-code 600100 --name ACME --username acme >/dev/null
"$BIN" brand add --config "$CONFIG" --iys-code 600100 --brand-code 600101 --name ACME --short-name ACME >/dev/null
log=${TMPDIR:-/tmp}/izin-bench-serve.log
"$BIN" serve --config "$CONFIG" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; clean' EXIT
sleep 2
if ! kill -0 $pid 2>/dev/null; then # a port taken, a bad config: say so, not bench another server
  echo "izin serve exited:" >&2
  tail -3 "$log" >&2
  exit 1
fi
"$BIN" bench all --config "$CONFIG" --rates "$rates" --out "$out" "$@"
echo "izin serve's peak resident memory: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
