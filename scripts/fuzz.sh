#!/usr/bin/env bash
# Runs every Fuzz target of the module for a bounded time each:
#   scripts/fuzz.sh 5s     (CI: short)
#   scripts/fuzz.sh 2m     (make fuzz: longer)
# A crasher is written by `go test -fuzz` under the package's
# testdata/fuzz/<Target>/, which makes it a regression case of the
# ordinary `go test` run once committed.
set -euo pipefail
cd "$(dirname "$0")/.."
time_per_target="${1:-5s}"
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u || true)
  for t in $targets; do
    echo "fuzz: $pkg $t for $time_per_target"
    ok=0
    for try in 1 2; do
      if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$time_per_target" "$pkg" >/tmp/izin-fuzz.log 2>&1; then
        ok=1
        break
      fi
      # A found crasher is written to testdata and named in the log. A
      # failure without one is the fuzzing engine's own (on a loaded
      # machine its workers can miss the coordinator's deadline): try once
      # more before calling it a failure.
      grep -q "Failing input written to" /tmp/izin-fuzz.log && break
      echo "fuzz: $pkg $t: the engine failed without a failing input; trying again"
    done
    if [ "$ok" != 1 ]; then
      cat /tmp/izin-fuzz.log
      echo "fuzz: $pkg $t FAILED (a failing input, if one was found, is under $dir/testdata/fuzz/$t)"
      status=1
    fi
  done
done
exit $status
