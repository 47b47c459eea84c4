#!/usr/bin/env bash
# Runs the test suite from the compiled output (npm test builds first).
#   scripts/test.sh            every test: unit + integration (needs MariaDB, Redis, RabbitMQ)
#   scripts/test.sh unit       unit tests only (no services)
#   scripts/test.sh <file...>  the given compiled test files
# Integration tests fail loudly when a service is missing; they are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
find_tests() { find packages/*/dist/test -name '*.test.js' "$@" 2>/dev/null | sort; }
case "$mode" in
  unit) files=$(find_tests -not -path '*/integration/*') ;;
  all) files=$(find_tests) ;;
  *) files="$*" ;;
esac
[ -n "$files" ] || { echo "no test files found: did the build run?" >&2; exit 1; }
# Each file gets a hard timeout so a hung test fails instead of stalling CI.
exec node --test --test-timeout=120000 --test-concurrency="${TEST_CONCURRENCY:-2}" $files
