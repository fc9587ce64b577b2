#!/usr/bin/env bash
# The whole Warden stack on loopback, for trying it out and for development:
# redis-server, MariaDB, nginx with ngx_http_warden_module.so, and `warden daemon`.
# Everything lives under ./run/ (gitignored): data, sockets, pid files, logs (run/logs/).
#
#   scripts/run-local.sh start  [component...]   make run
#   scripts/run-local.sh stop   [component...]   make stop
#   scripts/run-local.sh status                  make status (exit 3 when something is stopped)
#   scripts/run-local.sh reload                  regenerate run/nginx.conf and reload nginx
#
# Components: redis mariadb nginx daemon (default: all, started in that order and stopped in
# reverse). Ports default to 16379 (redis), 13306 (mariadb), 8080 (http); a port that is
# taken is replaced by a free one, and run/ports.env records the ports in use. Override with
# WARDEN_REDIS_PORT, WARDEN_MYSQL_PORT, WARDEN_HTTP_PORT; WARDEN_RUN_DIR moves run/,
# WARDEN_BUILD_DIR says where the module and the CLI were built.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run=${WARDEN_RUN_DIR:-$here/run}
build=${WARDEN_BUILD_DIR:-$here/build}
module=$build/ngx_http_warden_module.so
cli=$build/sidecar/warden
mmdb=$here/.deps/country.mmdb
template=$here/conf/nginx-local.conf.in
logs=$run/logs
ports_file=$run/ports.env
all_components=(redis mariadb nginx daemon)
me=$(id -un)

say() { printf 'run-local: %s\n' "$*"; }
warn() { printf 'run-local: warning: %s\n' "$*" >&2; }
die() {
  printf 'run-local: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log and fails.
die_with_log() {
  local log=$1
  shift
  if [ -s "$log" ]; then
    printf 'run-local: --- last lines of %s ---\n' "$log" >&2
    tail -n 25 "$log" >&2
    printf 'run-local: ---\n' >&2
  fi
  die "$*"
}

# ---- ports ----------------------------------------------------------------------------------

REDIS_PORT=
MYSQL_PORT=
HTTP_PORT=
# shellcheck disable=SC1090
[ -f "$ports_file" ] && . "$ports_file"

save_ports() {
  mkdir -p "$run"
  printf 'REDIS_PORT=%s\nMYSQL_PORT=%s\nHTTP_PORT=%s\n' \
    "$REDIS_PORT" "$MYSQL_PORT" "$HTTP_PORT" >"$ports_file"
}

port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# pick_port NAME OVERRIDE REMEMBERED DEFAULT: an explicit override must be free; otherwise the
# default, the port used last time, or the next free one above the default.
pick_port() {
  local name=$1 override=$2 remembered=$3 default=$4 p
  if [ -n "$override" ]; then
    port_in_use "$override" && die "$name: port $override (from the environment) is taken"
    echo "$override"
    return
  fi
  for p in $default $remembered; do
    port_in_use "$p" || {
      echo "$p"
      return
    }
  done
  for ((p = default + 1; p < default + 200; p++)); do
    port_in_use "$p" || {
      warn "$name: port $default is taken, using $p" >&2
      echo "$p"
      return
    }
  done
  die "$name: no free port in $default..$((default + 199))"
}

has_ipv6_loopback() {
  [ -r /proc/net/if_inet6 ] && grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

# ---- processes ------------------------------------------------------------------------------

pidfile_of() {
  case $1 in
    redis) echo "$run/redis.pid" ;;
    mariadb) echo "$run/mysql.pid" ;;
    nginx) echo "$run/nginx.pid" ;;
    daemon) echo "$run/warden.pid" ;;
  esac
}

comm_of() {
  case $1 in
    redis) echo redis-server ;;
    mariadb) echo mariadbd ;;
    nginx) echo nginx ;;
    daemon) echo warden ;;
  esac
}

# The pid of a running component, or nothing. A pid file whose process is gone, or whose pid
# now belongs to another program, does not count.
pid_of() {
  local file pid comm
  file=$(pidfile_of "$1")
  [ -s "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && alive "$pid" || return 0
  comm=$(ps -o comm= -p "$pid" 2>/dev/null || true)
  case $comm in
    "$(comm_of "$1")"*) echo "$pid" ;;
  esac
}

# A zombie (dead, not yet reaped by whoever adopted it) does not count as alive.
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$stat" ] && [ "${stat#Z}" = "$stat" ]
}

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
  local deadline=$(($1 * 10))
  shift
  local i
  for ((i = 0; i < deadline; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

gone() { ! alive "$1"; }

# stop_pid NAME PID SIGNAL SECONDS: signals, waits, and as a last resort kills the process and
# the children it leaves behind (nginx workers).
stop_pid() {
  local name=$1 pid=$2 sig=$3 secs=$4 children
  children=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ' || true)
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_until "$secs" gone "$pid"; then
    warn "$name (pid $pid) did not stop within ${secs}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 gone "$pid" || die "$name (pid $pid) does not die"
  fi
  local c
  for c in $children; do
    wait_until 5 gone "$c" || kill -KILL "$c" 2>/dev/null || true
  done
}

# ---- redis ----------------------------------------------------------------------------------

redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_up() { redis_ready && [ -n "$(pid_of redis)" ]; }

start_redis() {
  command -v redis-server >/dev/null || die "redis-server not found: run make deps"
  REDIS_PORT=$(pick_port redis "${WARDEN_REDIS_PORT:-}" "$REDIS_PORT" 16379)
  save_ports
  mkdir -p "$run/redis" "$logs"
  rm -f "$run/redis.pid"
  # shellcheck disable=SC2094  # redis-server appends to its log; errors before it opens it too
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --daemonize yes --pidfile "$run/redis.pid" --logfile "$logs/redis.log" \
    --dir "$run/redis" --save "" --appendonly no >/dev/null 2>>"$logs/redis.log" ||
    die_with_log "$logs/redis.log" "redis-server failed to start"
  wait_until 10 redis_up ||
    die_with_log "$logs/redis.log" "redis-server is not answering on 127.0.0.1:$REDIS_PORT"
  say "redis    started  pid $(pid_of redis)  redis://127.0.0.1:$REDIS_PORT"
}

# ---- mariadb --------------------------------------------------------------------------------

mysql_sock=$run/mysql.sock

# The admin account: mariadb-install-db lets the OS user who ran it in over the socket.
mysql_admin() { mariadb --no-defaults --socket="$mysql_sock" -u "$me" "$@"; }

mariadb_ready() {
  [ -S "$mysql_sock" ] && mysql_admin -N -e 'SELECT 1' >/dev/null 2>&1
}

mariadb_has_pid() { [ -n "$(pid_of mariadb)" ]; }

start_mariadb() {
  command -v mariadbd >/dev/null || die "mariadbd not found: run make deps"
  ((${#mysql_sock} < 100)) || die "mariadb: socket path too long for a unix socket: $mysql_sock"
  MYSQL_PORT=$(pick_port mariadb "${WARDEN_MYSQL_PORT:-}" "$MYSQL_PORT" 13306)
  save_ports
  mkdir -p "$logs" "$run/tmp"
  local datadir=$run/mysql
  if [ ! -f "$datadir/.warden-initialized" ]; then
    # Nothing in an uninitialised (or half-initialised) data directory is worth keeping.
    rm -rf "$datadir"
    say "mariadb  creating the data directory $datadir"
    mariadb-install-db --no-defaults --datadir="$datadir" --user="$me" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$me" \
      --skip-test-db >"$logs/mariadb-install.log" 2>&1 ||
      die_with_log "$logs/mariadb-install.log" "mariadb-install-db failed"
    touch "$datadir/.warden-initialized"
  fi
  rm -f "$run/mysql.pid"
  setsid mariadbd --no-defaults --datadir="$datadir" --socket="$mysql_sock" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
    --pid-file="$run/mysql.pid" --log-error="$logs/mariadb.log" --tmpdir="$run/tmp" \
    --user="$me" --innodb-buffer-pool-size=64M --skip-log-bin \
    </dev/null >>"$logs/mariadb.log" 2>&1 &
  local pid=$! i
  for ((i = 0; ; i++)); do
    mariadb_ready && break
    gone "$pid" && die_with_log "$logs/mariadb.log" "mariadbd (pid $pid) exited"
    ((i < 600)) || die_with_log "$logs/mariadb.log" "mariadbd (pid $pid) is not answering on $mysql_sock"
    sleep 0.1
  done
  mysql_admin <<'SQL' || die "mariadb: creating the warden database and user failed"
CREATE DATABASE IF NOT EXISTS warden CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'warden'@'127.0.0.1' IDENTIFIED BY 'warden';
CREATE USER IF NOT EXISTS 'warden'@'localhost' IDENTIFIED BY 'warden';
GRANT ALL PRIVILEGES ON warden.* TO 'warden'@'127.0.0.1';
GRANT ALL PRIVILEGES ON warden.* TO 'warden'@'localhost';
SQL
  mariadb --no-defaults -h 127.0.0.1 -P "$MYSQL_PORT" -u warden -pwarden warden \
    -N -e 'SELECT 1' >/dev/null ||
    die "mariadb: cannot log in as warden@127.0.0.1:$MYSQL_PORT"
  wait_until 10 mariadb_has_pid ||
    die_with_log "$logs/mariadb.log" "mariadbd wrote no pid file"
  say "mariadb  started  pid $(pid_of mariadb)  mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden"
}

# ---- nginx ----------------------------------------------------------------------------------

# nginx_cmd CONFIG [ARGS...]
nginx_cmd() {
  local conf=$1
  shift
  nginx -p "$run/" -c "$conf" -e "$logs/error.log" "$@"
}

# Escapes a value for the replacement side of a sed s||| command.
sed_value() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

write_nginx_conf() {
  [ -f "$module" ] || die "$module is missing: build it first (make build; make run does)"
  command -v nginx >/dev/null || die "nginx not found: run make deps"
  [ -f "$template" ] || die "$template is missing"
  mkdir -p "$logs" "$run"/nginx/{client_body,proxy,fastcgi,uwsgi,scgi}
  local user_line='# no user directive: nginx runs as the user who started it'
  [ "$(id -u)" = 0 ] && user_line='user root;  # local demo only: workers run as root'
  local geoip_line="# warden_geoip: $mmdb is missing (make deps fetches it); \$warden_country is \"-\""
  if [ -s "$mmdb" ]; then
    geoip_line="warden_geoip $mmdb;"
  else
    warn "nginx: $mmdb is missing (make deps fetches it): running without a country database"
  fi
  local listen6='# [::1] is not configured on this host: IPv4 loopback only'
  has_ipv6_loopback && listen6="listen [::1]:$HTTP_PORT;"
  sed -e "s|@MODULE@|$(sed_value "$module")|g" \
    -e "s|@RUN@|$(sed_value "$run")|g" \
    -e "s|@CONF@|$(sed_value "$here/conf")|g" \
    -e "s|@USER@|$(sed_value "$user_line")|g" \
    -e "s|@GEOIP@|$(sed_value "$geoip_line")|g" \
    -e "s|@LISTEN6@|$(sed_value "$listen6")|g" \
    -e "s|@REDIS_PORT@|$REDIS_PORT|g" \
    -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    "$template" >"$run/nginx.conf.new"
  if grep -n '@[A-Z_0-9]*@' "$run/nginx.conf.new" >&2; then
    die "unfilled placeholders in $template (above)"
  fi
  # Test the new file first: a running nginx keeps its good configuration.
  local out
  out=$(nginx_cmd "$run/nginx.conf.new" -t 2>&1) || {
    printf '%s\n' "$out" >&2
    die "nginx -t rejects $run/nginx.conf.new (generated from $template)"
  }
  mv "$run/nginx.conf.new" "$run/nginx.conf"
}

nginx_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" = 200 ]; }
nginx_up() { nginx_ready && [ -n "$(pid_of nginx)" ]; }

start_nginx() {
  [ -n "$(pid_of redis)" ] || warn "nginx: redis is not running; the module fails open until it is"
  [ -n "$REDIS_PORT" ] || die "nginx: no redis port known; start redis first"
  HTTP_PORT=$(pick_port http "${WARDEN_HTTP_PORT:-}" "$HTTP_PORT" 8080)
  save_ports
  write_nginx_conf
  rm -f "$run/nginx.pid" "$run/app.sock"  # nginx does not reuse a stale unix socket
  nginx_cmd "$run/nginx.conf" 2>>"$logs/error.log" || die_with_log "$logs/error.log" "nginx failed to start"
  wait_until 15 nginx_up ||
    die_with_log "$logs/error.log" "nginx is not answering on 127.0.0.1:$HTTP_PORT"
  say "nginx    started  pid $(pid_of nginx)  http://127.0.0.1:$HTTP_PORT/"
}

reload_nginx() {
  local pid
  pid=$(pid_of nginx)
  [ -n "$pid" ] || die "nginx is not running: make run"
  write_nginx_conf
  kill -HUP "$pid"
  say "nginx    reloaded pid $pid (the blacklist zone survives the reload; a rebuilt module is loaded)"
}

# ---- warden daemon --------------------------------------------------------------------------

check_cli() {
  [ -x "$cli" ] || die "$cli is missing: build it first (make build; make run does)"
}

cli_has_daemon() {
  "$cli" --help 2>&1 | grep -Eq '(^|[[:space:]])daemon([[:space:]]|$)'
}

start_daemon() {
  check_cli
  if ! cli_has_daemon; then
    warn "daemon: $cli has no daemon subcommand yet (see warden --help): not started"
    return 0
  fi
  [ -n "$REDIS_PORT" ] || die "daemon: no redis port known; start redis first"
  mkdir -p "$logs"
  local vars=()
  [ -n "$MYSQL_PORT" ] && vars+=("WARDEN_MYSQL=mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden")
  env "${vars[@]}" setsid "$cli" --redis "redis://127.0.0.1:$REDIS_PORT/0" daemon \
    </dev/null >>"$logs/warden.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$run/warden.pid"
  # There is no readiness signal: a daemon that is still there after 1.5 s has come up.
  sleep 1.5
  [ -n "$(pid_of daemon)" ] || {
    rm -f "$run/warden.pid"
    die_with_log "$logs/warden.log" "warden daemon (pid $pid) exited"
  }
  say "daemon   started  pid $pid  log $logs/warden.log"
}

# ---- commands -------------------------------------------------------------------------------

describe() {
  case $1 in
    redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
    mariadb) echo "mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden (socket $mysql_sock)" ;;
    nginx)
      local urls="http://127.0.0.1:$HTTP_PORT/"
      grep -q '^\s*listen \[::1\]' "$run/nginx.conf" 2>/dev/null && urls+=" http://[::1]:$HTTP_PORT/"
      echo "$urls"
      ;;
    daemon) echo "log $logs/warden.log" ;;
  esac
}

write_env() {
  {
    echo "# source run/env.sh: the CLI then talks to the local stack"
    echo "export WARDEN_REDIS=redis://127.0.0.1:$REDIS_PORT/0"
    [ -n "$MYSQL_PORT" ] && echo "export WARDEN_MYSQL=mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden"
  } >"$run/env.sh"
}

print_tour() {
  local w="${cli#"$here"/} --redis redis://127.0.0.1:$REDIS_PORT"
  local url="http://127.0.0.1:$HTTP_PORT"
  local rel_logs=${logs#"$here"/}
  tip() {
    if [ -n "${2:-}" ]; then printf '  %-56s # %s\n' "$1" "$2"; else printf '  %s\n' "$1"; fi
  }
  printf '\nWarden runs on loopback (state and logs in %s/). Try:\n\n' "${run#"$here"/}"
  tip "curl -i $url/" '200 "hello from behind warden"'
  tip "$w ban 127.0.0.1 --ttl 10m --reason demo"
  tip "curl -i $url/" '403 within ~100 ms; X-Warden-Reason says why'
  tip "curl -i $url/dry-run/" '200, logged as dry_run'
  if grep -q '^\s*listen \[::1\]' "$run/nginx.conf" 2>/dev/null; then
    tip "curl -i 'http://[::1]:$HTTP_PORT/'" 'a second client: ::1 is not banned'
  fi
  tip "$w list"
  tip "$w unban 127.0.0.1"
  tip "curl -i $url/" '200 again'
  tip "curl -s $url/warden/metrics" 'the node: decisions, blacklist, limits (Prometheus)'
  tip "tail $rel_logs/access.log" 'warden_json: country, decision, reason'
  tip "tail $rel_logs/error.log" "the module's Redis sync"
  tip ". ${run#"$here"/}/env.sh" 'sets WARDEN_REDIS (and WARDEN_MYSQL): --redis can go'
  tip "make status"
  tip "make stop"
}

check_components() {
  local arg
  for arg in "$@"; do
    [[ " ${all_components[*]} " == *" $arg "* ]] ||
      die "unknown component \"$arg\" (known: ${all_components[*]})"
  done
}

# The named components (all by default), one per line, in start order.
select_components() {
  local c
  for c in "${all_components[@]}"; do
    if (($# == 0)) || [[ " $* " == *" $c "* ]]; then echo "$c"; fi
  done
}

cmd_start() {
  local components c pid started=0
  check_components "$@"
  mapfile -t components < <(select_components "$@")
  # Check what is needed before starting anything.
  for c in "${components[@]}"; do
    case $c in
      nginx) [ -f "$module" ] || die "$module is missing: build it first (make build; make run does)" ;;
      daemon) check_cli ;;
    esac
  done
  mkdir -p "$run" "$logs"
  for c in "${components[@]}"; do
    pid=$(pid_of "$c")
    if [ -n "$pid" ]; then
      if [ "$c" = nginx ] && [ "$module" -nt "$run/nginx.conf" ]; then
        # Rebuilt since nginx last read its configuration: a reload loads the new module (the
        # build installs it by rename, so the running workers keep the old one until then).
        reload_nginx
      else
        printf 'run-local: %-8s already running  pid %s  %s\n' "$c" "$pid" "$(describe "$c")"
      fi
      continue
    fi
    "start_$c"
    started=1
  done
  write_env
  ((started)) || say "already running (make status shows it, make stop stops it)"
  [ -n "$(pid_of nginx)" ] && [ -n "$(pid_of redis)" ] && print_tour
  return 0
}

cmd_stop() {
  local components c pid i
  check_components "$@"
  mapfile -t components < <(select_components "$@")
  # Reverse order: the daemon and nginx go before the servers they talk to.
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do
    c=${components[i]}
    pid=$(pid_of "$c")
    if [ -z "$pid" ]; then
      printf 'run-local: %-8s not running\n' "$c"
      rm -f "$(pidfile_of "$c")"
      continue
    fi
    case $c in
      nginx) stop_pid nginx "$pid" QUIT 15 ;;      # graceful: finish the requests in flight
      mariadb) stop_pid mariadb "$pid" TERM 60 ;;  # clean InnoDB shutdown
      *) stop_pid "$c" "$pid" TERM 10 ;;
    esac
    rm -f "$(pidfile_of "$c")"
    printf 'run-local: %-8s stopped (pid %s)\n' "$c" "$pid"
  done
  [ -S "$mysql_sock" ] && [ -z "$(pid_of mariadb)" ] && rm -f "$mysql_sock"
  return 0
}

cmd_status() {
  local c pid down=0
  for c in "${all_components[@]}"; do
    pid=$(pid_of "$c")
    if [ -n "$pid" ]; then
      printf '%-8s running  pid %-7s %s\n' "$c" "$pid" "$(describe "$c")"
    else
      printf '%-8s stopped\n' "$c"
      down=1
    fi
  done
  if [ -n "$(pid_of nginx)" ]; then
    printf '%-8s GET /healthz -> %s\n' "" \
      "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz" || true)"
  fi
  return $((down ? 3 : 0))
}

case ${1:-} in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  status) cmd_status ;;
  restart) shift && cmd_stop "$@" && cmd_start "$@" ;;
  reload) reload_nginx ;;
  *)
    echo "usage: $0 start|stop|restart [redis|mariadb|nginx|daemon...] | status | reload" >&2
    exit 2
    ;;
esac
