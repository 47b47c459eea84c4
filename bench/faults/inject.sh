#!/usr/bin/env bash
# Takes one backing service down for a while and brings it back: bounded, loopback only, and the
# service is restored by a trap whatever happens (Ctrl-C, an error, a timeout).
#
#   bench/faults/inject.sh rabbitmq|redis|mariadb [down-seconds]
#
# Down:    rabbitmq: rabbitmqctl stop_app   redis: redis-cli shutdown nosave
#          mariadb:  mariadb-admin shutdown (falls back to kill)
# Restore: rabbitmqctl start_app, then scripts/services.sh <service>, i.e. the project's own start
#          commands (redis-server --daemonize ...; start-stop-daemon --start --oknodo --background
#          --exec /usr/sbin/mariadbd), which also wait until the service answers.
# Prints "down_at=<epoch ms>" and "back_at=<epoch ms>" (when the service answers again).
set -euo pipefail
kind="${1:?usage: inject.sh rabbitmq|redis|mariadb [down-seconds]}"
down="${2:-5}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "$kind" in rabbitmq|redis|mariadb) ;; *) echo "inject.sh: unknown service '$kind'" >&2; exit 2 ;; esac
[[ "$down" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "inject.sh: down-seconds must be a number" >&2; exit 2; }

restored=0
restore() {
  [ "$restored" = 1 ] && return 0
  restored=1
  # scripts/services.sh decides "node down" from `rabbitmqctl status`, which this RabbitMQ refuses
  # while the app is stopped, and then tries rabbitmq-server -detached next to the running node:
  # start the app directly first.
  if [ "$kind" = rabbitmq ]; then timeout 120 rabbitmqctl -q start_app >&2 || true; fi
  SERVICES_WAIT_SECS=120 bash "$root/scripts/services.sh" "$kind" >&2
}
trap restore EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

case "$kind" in
  rabbitmq) rabbitmqctl -q stop_app >&2 ;;
  redis) redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true ;;
  mariadb)
    # The server's own pid (from its pid file), so the fallback kill hits nothing else.
    pidfile="$(mariadb -h127.0.0.1 -uroot -N -e 'SELECT @@pid_file' 2>/dev/null || true)"
    pid="$( [ -n "$pidfile" ] && cat "$pidfile" 2>/dev/null || true)"
    if ! timeout 30 mariadb-admin -h127.0.0.1 -uroot shutdown >&2 && [ -n "$pid" ]; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    if [ -n "$pid" ]; then
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    ;;
esac
echo "down_at=$(now_ms)"
sleep "$down"
restore
trap - EXIT
echo "back_at=$(now_ms)"
