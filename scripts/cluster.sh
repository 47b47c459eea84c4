#!/usr/bin/env bash
# Runs a cluster of im-server instances on this machine (MySQL store, Redis presence, RabbitMQ bus).
# `scripts/cluster.sh --help` explains the commands and the environment.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SERVER_CLI="$ROOT/packages/im-server/dist/src/cli.js"

BASE_PORT="${BASE_PORT:-9090}"
MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306/hxim}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}"
NAMESPACE="${NAMESPACE:-hxim}"
AUTH="${AUTH:-password}"
EXTRA_ARGS="${EXTRA_ARGS:-}"
HOST="${HOST:-0.0.0.0}"
ADVERTISE_HOST="${ADVERTISE_HOST:-127.0.0.1}"
INSTANCE_PREFIX="${INSTANCE_PREFIX:-im}"
RUN_DIR="${RUN_DIR:-$ROOT/run/cluster}"
START_TIMEOUT_S="${START_TIMEOUT_S:-30}"
STOP_TIMEOUT_S="${STOP_TIMEOUT_S:-10}"
ENSURE_SERVICES="${ENSURE_SERVICES:-auto}"
LINES="${LINES:-50}"

usage() {
  cat <<EOF
Usage: scripts/cluster.sh <command> [args]

Runs several im-server instances on this machine as one cluster: --cluster redis-rabbit
--store mysql, on consecutive ports from BASE_PORT, with instance ids ${INSTANCE_PREFIX}-<port>.
Each instance writes its log to RUN_DIR/<id>.log and its pid to RUN_DIR/<id>.pid.
Needs a build first: npm install && npm run build.

Commands:
  start N           ensure MariaDB/Redis/RabbitMQ (scripts/services.sh), then start N instances on
                    ports BASE_PORT .. BASE_PORT+N-1; waits until each one listens (START_TIMEOUT_S)
  stop              SIGTERM every instance (they drain: clients are told to reconnect elsewhere),
                    wait up to STOP_TIMEOUT_S, then SIGKILL what is left
  status            pid, port, alive, and connected users of each instance (users is read from
                    the instance registry in Redis, <namespace>:inst:<id>, refreshed by each
                    instance every presence-TTL/3, i.e. 20 s by default); exit code 1 if any is down
  logs [id] [-f]    the last LINES lines of one instance's log (id: ${INSTANCE_PREFIX}-9090 or 9090), or of
                    all; -f follows
  --help            this text

Environment (default):
  BASE_PORT        first port (9090)
  MYSQL_URL        shared MySQL/MariaDB store (mysql://root@127.0.0.1:3306/hxim; created if missing)
  REDIS_URL        presence (redis://127.0.0.1:6379)
  AMQP_URL         bus (amqp://guest:guest@127.0.0.1:5672)
  NAMESPACE        prefix of every Redis key and RabbitMQ name (hxim)
  AUTH             password | open (password)
  EXTRA_ARGS       more im-server flags, e.g. "--log-level warn --presence-ttl-ms 30000"
  HOST             listen address (0.0.0.0)
  ADVERTISE_HOST   address clients reach the instances at; --advertise is ADVERTISE_HOST:<port> (127.0.0.1)
  INSTANCE_PREFIX  instance ids are INSTANCE_PREFIX-<port>; make it unique per machine (im)
  RUN_DIR          pid and log files (./run/cluster)
  ENSURE_SERVICES  auto: run scripts/services.sh for the services whose URL is on this machine;
                   yes: for all three; no: never (auto)
  START_TIMEOUT_S, STOP_TIMEOUT_S, LINES   (30, 10, 50)

Example:
  npm install && npm run build
  scripts/cluster.sh start 3
  node packages/im-client/dist/src/cli.js register --server 127.0.0.1:9090 --user alice
  node packages/im-client/dist/src/cli.js chat --server 127.0.0.1:9090,127.0.0.1:9091 --user alice
  scripts/cluster.sh status
  scripts/cluster.sh stop
EOF
}

log() { printf '[cluster] %s\n' "$*"; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }

# The host part of a URL (scheme://[user[:pass]@]host[:port][/...]).
url_host() {
  local rest="${1#*://}"
  rest="${rest%%/*}"
  rest="${rest##*@}"
  if [[ "$rest" == \[* ]]; then rest="${rest#[}"; rest="${rest%%]*}"; else rest="${rest%%:*}"; fi
  printf '%s' "$rest"
}

is_local() { case "$1" in 127.*|localhost|::1|"") return 0 ;; *) return 1 ;; esac; }

ensure_services() {
  local want=()
  case "$ENSURE_SERVICES" in
    no) return 0 ;;
    yes) want=(mariadb redis rabbitmq) ;;
    auto)
      is_local "$(url_host "$MYSQL_URL")" && want+=(mariadb)
      is_local "$(url_host "$REDIS_URL")" && want+=(redis)
      is_local "$(url_host "$AMQP_URL")" && want+=(rabbitmq)
      ;;
    *) die "ENSURE_SERVICES must be auto, yes or no (got '$ENSURE_SERVICES')" ;;
  esac
  [ ${#want[@]} -eq 0 ] || bash "$ROOT/scripts/services.sh" "${want[@]}"
}

# pid of a live im-server recorded for id, or nothing (a stale pid file, or a reused pid, is not ours).
live_pid() {
  local f="$RUN_DIR/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  is_int "$pid" || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "cli.js start"; then return 0; fi
  printf '%s' "$pid"
}

# Instance ids with a pid file, ordered by port.
known_ids() {
  [ -d "$RUN_DIR" ] || return 0
  local f
  for f in "$RUN_DIR"/*.pid; do
    [ -e "$f" ] || continue
    basename "$f" .pid
  done | sort -t- -k2 -n
}

port_of() { printf '%s' "${1##*-}"; }

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Settings the instances were started with, so status/stop use the same namespace and Redis.
save_env() {
  {
    printf 'NAMESPACE=%q\n' "$NAMESPACE"
    printf 'REDIS_URL=%q\n' "$REDIS_URL"
  } >"$RUN_DIR/cluster.env"
}

load_env() {
  if [ -f "$RUN_DIR/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$RUN_DIR/cluster.env"
  fi
}

cmd_start() {
  local n="${1:-}"
  is_int "$n" && [ "$n" -ge 1 ] || die "start needs the number of instances, e.g. 'scripts/cluster.sh start 3'"
  is_int "$BASE_PORT" && [ "$BASE_PORT" -ge 1 ] && [ $((BASE_PORT + n - 1)) -le 65535 ] || die "BASE_PORT must be a port (got '$BASE_PORT')"
  case "$AUTH" in password|open) ;; *) die "AUTH must be password or open (got '$AUTH')" ;; esac
  [[ "$NAMESPACE" =~ ^[A-Za-z0-9_-]{1,32}$ ]] || die "NAMESPACE may only hold letters, digits, '_' and '-' (1-32)"
  [ -f "$SERVER_CLI" ] || die "$SERVER_CLI is missing: run 'npm install && npm run build' first"
  command -v node >/dev/null || die "node is not on PATH"
  mkdir -p "$RUN_DIR"
  ensure_services
  save_env
  local i port id pid logf started=()
  # shellcheck disable=SC2206
  local extra=($EXTRA_ARGS)
  for ((i = 0; i < n; i++)); do
    port=$((BASE_PORT + i))
    id="$INSTANCE_PREFIX-$port"
    pid="$(live_pid "$id")"
    if [ -n "$pid" ]; then log "$id is already running (pid $pid)"; continue; fi
    port_busy "$port" && die "port $port is in use by another process; choose BASE_PORT"
    logf="$RUN_DIR/$id.log"
    printf '\n==== %s start %s\n' "$(date -Is)" "$id" >>"$logf"
    # setsid: the instance outlives this shell and ignores its terminal's Ctrl-C.
    setsid node "$SERVER_CLI" start --host "$HOST" --port "$port" --instance-id "$id" \
      --advertise "$ADVERTISE_HOST:$port" --auth "$AUTH" --store mysql --mysql-url "$MYSQL_URL" \
      --cluster redis-rabbit --redis-url "$REDIS_URL" --amqp-url "$AMQP_URL" --namespace "$NAMESPACE" \
      ${extra[@]+"${extra[@]}"} </dev/null >>"$logf" 2>&1 &
    echo $! >"$RUN_DIR/$id.pid"
    started+=("$id")
  done
  local failed=0
  for id in ${started[@]+"${started[@]}"}; do
    wait_listening "$id" || failed=1
  done
  [ "$failed" -eq 0 ] || die "some instances did not start (see above); 'scripts/cluster.sh stop' cleans up"
  log "running: $(known_ids | tr '\n' ' ')(logs in $RUN_DIR)"
}

# Waits until the instance logged "listening on" after its last start marker.
wait_listening() {
  local id=$1 logf="$RUN_DIR/$1.log" deadline=$((SECONDS + START_TIMEOUT_S)) pid
  pid="$(cat "$RUN_DIR/$id.pid")"
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$id exited during start-up; the end of $logf:"
      awk '/^==== /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$logf" | tail -n 20 >&2
      rm -f "$RUN_DIR/$id.pid"
      return 1
    fi
    if awk '/^==== /{ok=0} /listening on/{ok=1} END{exit !ok}' "$logf"; then
      log "$id listening on port $(port_of "$id") (pid $pid)"
      return 0
    fi
    sleep 0.2
  done
  log "$id did not listen within ${START_TIMEOUT_S}s; the end of $logf:"
  tail -n 20 "$logf" >&2
  return 1
}

cmd_stop() {
  local ids id pid pids=() left
  ids="$(known_ids)"
  [ -n "$ids" ] || { log "no instances recorded in $RUN_DIR"; return 0; }
  for id in $ids; do
    pid="$(live_pid "$id")"
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); log "$id: SIGTERM (pid $pid)"; fi
  done
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while :; do
    left=()
    for pid in ${pids[@]+"${pids[@]}"}; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ ${#left[@]} -gt 0 ] || break
    if [ $SECONDS -ge $deadline ]; then
      log "still running after ${STOP_TIMEOUT_S}s: SIGKILL ${left[*]}"
      kill -KILL "${left[@]}" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.2
  done
  for id in $ids; do rm -f "$RUN_DIR/$id.pid"; done
  log "stopped"
}

# Prints the registry JSON of an instance, or nothing.
registry_get() {
  command -v redis-cli >/dev/null || return 0
  timeout 3 redis-cli -u "$REDIS_URL" --no-auth-warning GET "$NAMESPACE:inst:$1" 2>/dev/null || true
}

json_num() { sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" <<<"$1"; }

cmd_status() {
  load_env
  local ids id pid alive users info down=0 total=0
  ids="$(known_ids)"
  [ -n "$ids" ] || { log "no instances recorded in $RUN_DIR (start some with 'scripts/cluster.sh start N')"; return 1; }
  command -v redis-cli >/dev/null || log "redis-cli is missing: users cannot be read (apt-get install redis-tools)"
  printf '%-20s %8s %6s %6s %6s\n' ID PID PORT ALIVE USERS
  for id in $ids; do
    pid="$(live_pid "$id")"
    if [ -n "$pid" ]; then alive=yes; else alive=no; pid="$(cat "$RUN_DIR/$id.pid" 2>/dev/null || echo -)"; down=1; fi
    info="$(registry_get "$id")"
    users="$(json_num "$info" users)"
    [ -n "$users" ] && total=$((total + users))
    printf '%-20s %8s %6s %6s %6s\n' "$id" "$pid" "$(port_of "$id")" "$alive" "${users:--}"
  done
  local m live=0
  for m in $(timeout 3 redis-cli -u "$REDIS_URL" --no-auth-warning SMEMBERS "$NAMESPACE:insts" 2>/dev/null || true); do
    [ -n "$(registry_get "$m")" ] && live=$((live + 1))
  done
  log "namespace $NAMESPACE: $total users on these instances; $live live instance(s) in the registry (every machine)"
  return $down
}

cmd_logs() {
  local id="" follow=0 a files=()
  for a in "$@"; do
    case "$a" in
      -f|--follow) follow=1 ;;
      *) id="$a" ;;
    esac
  done
  if [ -n "$id" ]; then
    is_int "$id" && id="$INSTANCE_PREFIX-$id"
    [ -f "$RUN_DIR/$id.log" ] || die "no log for '$id' in $RUN_DIR (ids: $(known_ids | tr '\n' ' '))"
    files=("$RUN_DIR/$id.log")
  else
    for a in "$RUN_DIR"/*.log; do [ -e "$a" ] && files+=("$a"); done
    [ ${#files[@]} -gt 0 ] || die "no logs in $RUN_DIR"
  fi
  if [ "$follow" -eq 1 ]; then exec tail -n "$LINES" -F "${files[@]}"; fi
  tail -n "$LINES" "${files[@]}"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) printf '[cluster] unknown command "%s"\n\n' "$1" >&2; usage >&2; exit 2 ;;
esac
