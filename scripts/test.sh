#!/usr/bin/env bash
# Runs the test suite from the compiled output (npm test builds first).
#   scripts/test.sh            every test: unit + integration (needs MariaDB, Redis, RabbitMQ)
#   scripts/test.sh unit       unit tests only (no services)
#   scripts/test.sh <file...>  the given compiled test files
# Integration tests fail loudly when a service is missing; they are never skipped.
#
# Test files that stop and restart a shared service (RabbitMQ stop_app, Redis shutdown) would
# disturb whatever runs beside them, so they are found by what they do and run last, one at a
# time, after everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
find_tests() { find packages/*/dist/test -name '*.test.js' "$@" 2>/dev/null | sort; }
DISRUPTIVE='stop_app|shutdown nosave|redis-server --daemonize'
run() { node --test --test-timeout=180000 --test-concurrency="$1" "${@:2}"; }
case "$mode" in
  unit) files=$(find_tests -not -path '*/integration/*') ;;
  all) files=$(find_tests) ;;
  *) exec node --test --test-timeout=180000 "$@" ;;
esac
[ -n "$files" ] || { echo "no test files found: did the build run?" >&2; exit 1; }
serial=$(grep -lE "$DISRUPTIVE" $files || true)
parallel=$(for f in $files; do grep -qxF "$f" <<<"$serial" || echo "$f"; done)
status=0
# shellcheck disable=SC2086
run "${TEST_CONCURRENCY:-2}" $parallel || status=$?
if [ -n "$serial" ]; then
  echo "== tests that restart shared services, one at a time: $(echo $serial | tr '\n' ' ')"
  # shellcheck disable=SC2086
  run 1 $serial || status=$?
fi
exit $status
