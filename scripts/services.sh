#!/usr/bin/env bash
# Ensures MariaDB, Redis and RabbitMQ are installed, running and answering on 127.0.0.1.
# Installs what is missing with apt (Debian), starts what is stopped, then waits (bounded) until
# each one answers. Idempotent: on a machine where all three run, it only checks them.
#   scripts/services.sh            ensure all three
#   scripts/services.sh redis      ensure only the named ones (mariadb, redis, rabbitmq)
set -euo pipefail
WAIT_SECS="${SERVICES_WAIT_SECS:-90}"
want=("$@"); [ ${#want[@]} -gt 0 ] || want=(mariadb redis rabbitmq)

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available: install $* by hand"
  log "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# wait_for NAME CHECK-COMMAND...
wait_for() {
  local name=$1; shift
  local deadline=$((SECONDS + WAIT_SECS))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name did not answer within ${WAIT_SECS}s (check its log)"
    sleep 1
  done
  log "$name is up"
}

mariadb_ok() { mariadb -h127.0.0.1 -uroot -e 'SELECT 1' ; }
redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
rabbit_ok() { rabbitmqctl -q status >/dev/null 2>&1 && rabbitmq-diagnostics -q check_port_listener 5672 >/dev/null 2>&1 ; }

ensure_mariadb() {
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client
  if ! mariadb_ok >/dev/null 2>&1; then
    log "starting MariaDB"
    as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  fi
  wait_for MariaDB mariadb_ok
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  if ! redis_ok; then
    log "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
  wait_for Redis redis_ok
}

ensure_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! rabbit_ok; then
    # A node that is up with its app stopped (after stop_app) only needs start_app; on some
    # versions `rabbitmqctl status` is refused in that state, so try start_app first and only
    # start a new node when that fails (a second node beside a running one never comes up).
    if timeout 30 rabbitmqctl -q start_app >/dev/null 2>&1; then
      log "started the RabbitMQ app"
    else
      log "starting RabbitMQ"; as_root rabbitmq-server -detached
    fi
  fi
  wait_for RabbitMQ rabbit_ok
}

for s in "${want[@]}"; do
  case "$s" in
    mariadb|mysql) ensure_mariadb ;;
    redis) ensure_redis ;;
    rabbitmq|rabbit) ensure_rabbitmq ;;
    *) die "unknown service '$s' (expected mariadb, redis or rabbitmq)" ;;
  esac
done
