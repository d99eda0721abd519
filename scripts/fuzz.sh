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
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$time_per_target" "$pkg" >/tmp/izin-fuzz.log 2>&1; then
      cat /tmp/izin-fuzz.log
      echo "fuzz: $pkg $t FAILED (crasher saved under $dir/testdata/fuzz/$t)"
      status=1
    fi
  done
done
exit $status
