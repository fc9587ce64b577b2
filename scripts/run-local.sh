#!/usr/bin/env bash
# The whole Warden stack on loopback, for trying it out and for development: redis-server,
# MariaDB with a demo member table, two nginx nodes with ngx_http_warden_module.so sharing
# the Redis (a fleet of two), and `warden daemon` running the demo's jobs.
# Everything lives under ./run/ (gitignored): data, sockets, pid files, logs (run/logs/).
#
#   scripts/run-local.sh start  [component...]   make run
#   scripts/run-local.sh stop   [component...]   make stop
#   scripts/run-local.sh status                  make status (exit 3 when something is stopped)
#   scripts/run-local.sh reload                  regenerate the nginx.conf files, reload nginx
#   scripts/run-local.sh tour [--check]          print the tour; --check runs each step and
#                                                fails unless it gives what it promises
#
# Components: redis mariadb nginx node2 daemon (default: all, started in that order and
# stopped in reverse). Ports default to 16379 (redis), 13306 (mariadb), 8080 (node 1), 8081
# (node 2) and 9477 (the daemon's metrics and job control); a port that is taken is replaced
# by a free one, and run/ports.env records the ports in use. Override with WARDEN_REDIS_PORT,
# WARDEN_MYSQL_PORT, WARDEN_HTTP_PORT, WARDEN_HTTP2_PORT, WARDEN_DAEMON_PORT; WARDEN_RUN_DIR
# moves run/, WARDEN_BUILD_DIR says where the module and the CLI were built.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run=${WARDEN_RUN_DIR:-$here/run}
build=${WARDEN_BUILD_DIR:-$here/build}
module=$build/ngx_http_warden_module.so
cli=$build/sidecar/warden
mmdb=$here/.deps/country.mmdb
template=$here/conf/nginx-local.conf.in
daemon_template=$here/conf/warden-local.toml.in
logs=$run/logs
node2=$run/node2
ports_file=$run/ports.env
all_components=(redis mariadb nginx node2 daemon)
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
HTTP2_PORT=
DAEMON_PORT=
# shellcheck disable=SC1090
[ -f "$ports_file" ] && . "$ports_file"

save_ports() {
  mkdir -p "$run"
  printf 'REDIS_PORT=%s\nMYSQL_PORT=%s\nHTTP_PORT=%s\nHTTP2_PORT=%s\nDAEMON_PORT=%s\n' \
    "$REDIS_PORT" "$MYSQL_PORT" "$HTTP_PORT" "$HTTP2_PORT" "$DAEMON_PORT" >"$ports_file"
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
    node2) echo "$node2/nginx.pid" ;;
    daemon) echo "$run/warden.pid" ;;
  esac
}

comm_of() {
  case $1 in
    redis) echo redis-server ;;
    mariadb) echo mariadbd ;;
    nginx | node2) echo nginx ;;
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
  seed_members
  wait_until 10 mariadb_has_pid ||
    die_with_log "$logs/mariadb.log" "mariadbd wrote no pid file"
  say "mariadb  started  pid $(pid_of mariadb)  mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden"
}

# The demo's member table, filled once: 5,000 members, 60 % of whom last logged in over a
# year ago (the daemon's archive-members job moves those to unconnected_member), and 20 %
# who pass the year one every 10 seconds, so that later runs of the job have work too.
seed_members() {
  mysql_admin warden <<'SQL' || die "mariadb: creating the demo member table failed"
CREATE TABLE IF NOT EXISTS member (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(191) NOT NULL,
  name VARCHAR(64) NULL,
  last_login_time INT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL,
  UNIQUE KEY email (email),
  KEY idx_last_login_time (last_login_time)
) ENGINE=InnoDB;
INSERT INTO member (email, name, last_login_time, created_at)
SELECT CONCAT('member', seq, '@example.com'), CONCAT('Member ', seq),
       UNIX_TIMESTAMP() - CASE WHEN seq % 5 < 3 THEN 400 * 86400 + seq * 600
                               WHEN seq % 5 = 3 THEN 365 * 86400 - (seq DIV 5) * 10
                               ELSE seq * 60 END,
       NOW() - INTERVAL 2 YEAR
  FROM seq_1_to_5000
 WHERE NOT EXISTS (SELECT 1 FROM member LIMIT 1)
   AND NOT EXISTS (SELECT 1 FROM information_schema.tables
                    WHERE table_schema = 'warden' AND table_name = 'unconnected_member');
SQL
}

# ---- nginx ----------------------------------------------------------------------------------

# Node 1 lives in run/ (its logs in run/logs/), node 2 in run/node2/ (logs in run/node2/logs/).
node_dir() { if [ "$1" = node2 ]; then echo "$node2"; else echo "$run"; fi; }
node_port() { if [ "$1" = node2 ]; then echo "$HTTP2_PORT"; else echo "$HTTP_PORT"; fi; }
node_name() { if [ "$1" = node2 ]; then echo 2; else echo 1; fi; }

# nginx_cmd NODE CONFIG [ARGS...]
nginx_cmd() {
  local dir conf=$2
  dir=$(node_dir "$1")
  shift 2
  # By its full path: nginx's binary upgrade (reload_node) executes argv[0] as it was given.
  "$(command -v nginx)" -p "$dir/" -c "$conf" -e "$dir/logs/error.log" "$@"
}

# Escapes a value for the replacement side of a sed s||| command.
sed_value() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# write_nginx_conf NODE: DIR/nginx.conf from the template, tested before it replaces the old.
write_nginx_conf() {
  local node=$1 dir port
  dir=$(node_dir "$node")
  port=$(node_port "$node")
  [ -f "$module" ] || die "$module is missing: build it first (make build; make run does)"
  command -v nginx >/dev/null || die "nginx not found: run make deps"
  [ -f "$template" ] || die "$template is missing"
  mkdir -p "$dir/logs" "$dir"/nginx/{client_body,proxy,fastcgi,uwsgi,scgi}
  if [ ! -s "$run/challenge.keys" ]; then
    # warden_challenge's signing key, one for both nodes: 32 random bytes as hex.
    (umask 077 && openssl rand -hex 32 >"$run/challenge.keys") ||
      die "openssl rand failed: run make deps"
  fi
  local user_line='# no user directive: nginx runs as the user who started it'
  [ "$(id -u)" = 0 ] && user_line='user root;  # local demo only: workers run as root'
  local geoip_line="# warden_geoip: $mmdb is missing (make deps fetches it); \$warden_country is \"-\""
  if [ -s "$mmdb" ]; then
    geoip_line="warden_geoip $mmdb;"
  else
    warn "nginx: $mmdb is missing (make deps fetches it): running without a country database"
  fi
  local listen6='# [::1] is not configured on this host: IPv4 loopback only'
  has_ipv6_loopback && listen6="listen [::1]:$port;"
  sed -e "s|@MODULE@|$(sed_value "$module")|g" \
    -e "s|@RUN@|$(sed_value "$dir")|g" \
    -e "s|@CONF@|$(sed_value "$here/conf")|g" \
    -e "s|@USER@|$(sed_value "$user_line")|g" \
    -e "s|@GEOIP@|$(sed_value "$geoip_line")|g" \
    -e "s|@LISTEN6@|$(sed_value "$listen6")|g" \
    -e "s|@REDIS_PORT@|$REDIS_PORT|g" \
    -e "s|@HTTP_PORT@|$port|g" \
    -e "s|@NODE@|$(node_name "$node")|g" \
    -e "s|@KEYS@|$(sed_value "$run/challenge.keys")|g" \
    "$template" >"$dir/nginx.conf.new"
  if grep -n '@[A-Z_0-9]*@' "$dir/nginx.conf.new" >&2; then
    die "unfilled placeholders in $template (above)"
  fi
  # Test the new file first: a running nginx keeps its good configuration.
  local out
  out=$(nginx_cmd "$node" "$dir/nginx.conf.new" -t 2>&1) || {
    printf '%s\n' "$out" >&2
    die "nginx -t rejects $dir/nginx.conf.new (generated from $template)"
  }
  mv "$dir/nginx.conf.new" "$dir/nginx.conf"
}

nginx_ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(node_port "$1")/healthz")" = 200 ]
}
nginx_up() { nginx_ready "$1" && [ -n "$(pid_of "$1")" ]; }

# start_node nginx|node2
start_node() {
  local node=$1 dir port
  dir=$(node_dir "$node")
  [ -n "$(pid_of redis)" ] || warn "$node: redis is not running; the module fails open until it is"
  [ -n "$REDIS_PORT" ] || die "$node: no redis port known; start redis first"
  if [ "$node" = node2 ]; then
    HTTP2_PORT=$(pick_port node2 "${WARDEN_HTTP2_PORT:-}" "$HTTP2_PORT" 8081)
  else
    HTTP_PORT=$(pick_port http "${WARDEN_HTTP_PORT:-}" "$HTTP_PORT" 8080)
  fi
  port=$(node_port "$node")
  save_ports
  write_nginx_conf "$node"
  rm -f "$dir/nginx.pid" "$dir/app.sock"  # nginx does not reuse a stale unix socket
  nginx_cmd "$node" "$dir/nginx.conf" 2>>"$dir/logs/error.log" ||
    die_with_log "$dir/logs/error.log" "$node failed to start"
  wait_until 15 nginx_up "$node" ||
    die_with_log "$dir/logs/error.log" "$node is not answering on 127.0.0.1:$port"
  printf 'run-local: %-8s started  pid %s  http://127.0.0.1:%s/  (node %s)\n' \
    "$node" "$(pid_of "$node")" "$port" "$(node_name "$node")"
}

start_nginx() { start_node nginx; }
start_node2() { start_node node2; }

# True when the master of NODE still runs a module file that a rebuild has since replaced
# (the build installs by rename, so the old file lives on, deleted, while it is mapped).
module_replaced() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && grep -qF "$module (deleted)" "/proc/$pid/maps" 2>/dev/null
}

new_master_up() {
  local dir=$1 old=$2 pid
  [ -s "$dir/nginx.pid.oldbin" ] && [ -s "$dir/nginx.pid" ] || return 1
  pid=$(tr -dc '0-9' <"$dir/nginx.pid")
  [ -n "$pid" ] && [ "$pid" != "$old" ] && alive "$pid"
}

# reload_node nginx|node2: an edited template, or a rebuilt module, takes effect.
# A reload (SIGHUP) rereads the configuration but keeps the module the master has loaded:
# dlopen() of the same path hands back the copy already mapped. So after a rebuild the node
# gets nginx's binary upgrade instead: SIGUSR2 starts a new master, which loads every module
# from disk and takes over the listening sockets, and the old master then quits gracefully;
# no request is refused in between. The new master starts with an empty blacklist zone and
# loads the list from Redis (tens of ms for the demo's list).
reload_node() {
  local node=$1 pid dir
  pid=$(pid_of "$node")
  dir=$(node_dir "$node")
  [ -n "$pid" ] || die "$node is not running: make run"
  write_nginx_conf "$node"
  if ! module_replaced "$node"; then
    kill -HUP "$pid"
    printf 'run-local: %-8s reloaded pid %s (the blacklist zone survives a reload)\n' "$node" "$pid"
    return 0
  fi
  kill -USR2 "$pid"
  if ! wait_until 10 new_master_up "$dir" "$pid"; then
    warn "$node: the binary upgrade started no new master (see $dir/logs/error.log); restarting it"
    stop_pid "$node" "$pid" QUIT 15
    start_node "$node"
    return 0
  fi
  kill -QUIT "$pid"
  wait_until 15 gone "$pid" || warn "$node: the old master (pid $pid) is still finishing requests"
  wait_until 15 nginx_up "$node" ||
    die_with_log "$dir/logs/error.log" "$node is not answering after the binary upgrade"
  printf 'run-local: %-8s upgraded pid %s -> %s (the rebuilt module is loaded)\n' \
    "$node" "$pid" "$(pid_of "$node")"
}

reload_nginx() {
  local node reloaded=0
  for node in nginx node2; do
    [ -n "$(pid_of "$node")" ] || continue
    reload_node "$node"
    reloaded=1
  done
  ((reloaded)) || die "nginx is not running: make run"
}

# ---- warden daemon --------------------------------------------------------------------------

check_cli() {
  [ -x "$cli" ] || die "$cli is missing: build it first (make build; make run does)"
}

cli_has_daemon() {
  "$cli" --help 2>&1 | grep -Eq '(^|[[:space:]])daemon([[:space:]]|$)'
}

# run/warden.toml from conf/warden-local.toml.in, checked by `warden config check`.
write_daemon_conf() {
  [ -f "$daemon_template" ] || die "$daemon_template is missing"
  sed -e "s|@REDIS_PORT@|$REDIS_PORT|g" -e "s|@MYSQL_PORT@|$MYSQL_PORT|g" \
    -e "s|@DAEMON_PORT@|$DAEMON_PORT|g" "$daemon_template" >"$run/warden.toml.new"
  if grep -n '@[A-Z_0-9]*@' "$run/warden.toml.new" >&2; then
    die "unfilled placeholders in $daemon_template (above)"
  fi
  local out
  out=$("$cli" --config "$run/warden.toml.new" config check 2>&1) || {
    printf '%s\n' "$out" >&2
    die "warden config check rejects $run/warden.toml.new (generated from $daemon_template)"
  }
  mv "$run/warden.toml.new" "$run/warden.toml"
}

daemon_ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DAEMON_PORT/metrics")" = 200 ]
}

start_daemon() {
  check_cli
  [ -n "$REDIS_PORT" ] || die "daemon: no redis port known; start redis first"
  [ -n "$MYSQL_PORT" ] || die "daemon: no mariadb port known; start mariadb first"
  DAEMON_PORT=$(pick_port daemon "${WARDEN_DAEMON_PORT:-}" "$DAEMON_PORT" 9477)
  save_ports
  mkdir -p "$logs"
  write_daemon_conf
  # Only what the daemon needs: no WARDEN_* from the caller's shell overrides run/warden.toml.
  env -i PATH="$PATH" HOME="${HOME:-/}" LANG="${LANG:-C.UTF-8}" \
    setsid "$cli" --config "$run/warden.toml" daemon </dev/null >>"$logs/warden.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$run/warden.pid"
  local i
  for ((i = 0; ; i++)); do
    daemon_ready && break
    gone "$pid" && {
      rm -f "$run/warden.pid"
      die_with_log "$logs/warden.log" "warden daemon (pid $pid) exited"
    }
    ((i < 100)) || die_with_log "$logs/warden.log" \
      "warden daemon (pid $pid) is not answering on 127.0.0.1:$DAEMON_PORT"
    sleep 0.1
  done
  say "daemon   started  pid $pid  console http://127.0.0.1:$DAEMON_PORT/  metrics http://127.0.0.1:$DAEMON_PORT/metrics  log $logs/warden.log"
}

# ---- commands -------------------------------------------------------------------------------

describe() {
  case $1 in
    redis) echo "redis://127.0.0.1:$REDIS_PORT" ;;
    mariadb) echo "mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden (socket $mysql_sock)" ;;
    nginx | node2)
      local dir port urls
      dir=$(node_dir "$1")
      port=$(node_port "$1")
      urls="http://127.0.0.1:$port/"
      grep -q '^\s*listen \[::1\]' "$dir/nginx.conf" 2>/dev/null && urls+=" http://[::1]:$port/"
      echo "$urls (node $(node_name "$1"))"
      ;;
    daemon) echo "console http://127.0.0.1:$DAEMON_PORT/  metrics http://127.0.0.1:$DAEMON_PORT/metrics  log $logs/warden.log" ;;
  esac
}

write_env() {
  {
    echo "# source run/env.sh: the CLI then talks to the local stack"
    echo "export WARDEN_REDIS=redis://127.0.0.1:$REDIS_PORT/0"
    [ -n "$MYSQL_PORT" ] && echo "export WARDEN_MYSQL=mysql://warden:warden@127.0.0.1:$MYSQL_PORT/warden"
    [ -f "$run/warden.toml" ] && echo "export WARDEN_CONFIG=$run/warden.toml"
    echo "export PATH=$build/sidecar:\$PATH"
  } >"$run/env.sh"
}

# ---- the tour -------------------------------------------------------------------------------
# What `make run` prints for a person to paste, and what `tour --check` runs: the same strings,
# so a step that stops giving what it promises fails tests/scripts/run_local_test.sh.
#
#   step_http SECONDS STATUS HEADER_REGEX COMMENT "curl -i ..."   the status (and a header
#                                                       matching the regex, if one is given)
#   step_run SECONDS OUTPUT_REGEX COMMENT "COMMAND"     exits 0, its output matches
#   step_note COMMENT "COMMAND"                         printed only
#   section TITLE
# A check is repeated until it holds or SECONDS have passed: a ban takes ~100 ms to reach the
# nodes, a job runs on its schedule.

tour_mode=print
tour_failures=0

section() {
  [ "$tour_mode" = print ] && printf '\n  %s\n' "$1"
  return 0
}

tour_print() {
  local comment=$1 command=$2
  if ((${#command} > 44)); then
    printf '    # %s\n    %s\n' "$comment" "$command"
  else
    printf '    %-44s # %s\n' "$command" "$comment"
  fi
}

# tour_try SECONDS FUNCTION ARGS...: runs FUNCTION until it succeeds or time is up.
tour_try() {
  local secs=$1 i
  shift
  for ((i = 0; i <= secs * 5; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

tour_fail() {
  printf 'tour: FAIL: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/tour:   | /' >&2
  tour_failures=$((tour_failures + 1))
}

tour_http_once() {
  local status=$1 header=$2 command=$3
  # stdout only: curl -i writes its progress meter to stderr when stdout is no terminal.
  tour_out=$(cd "$here" && eval "$command" 2>/dev/null | tr -d '\r') || return 1
  [ "$(printf '%s\n' "$tour_out" | awk '/^HTTP\// {print $2; exit}')" = "$status" ] || return 1
  [ -z "$header" ] || printf '%s\n' "$tour_out" | grep -Eiq "$header"
}

step_http() {
  local secs=$1 status=$2 header=$3 comment=$4 command=$5
  if [ "$tour_mode" = print ]; then
    tour_print "$comment" "$command"
    return 0
  fi
  if tour_try "$secs" tour_http_once "$status" "$header" "$command"; then
    printf 'tour: ok    %s -> %s\n' "$command" "$status"
  else
    tour_fail "$command: expected $status${header:+ with $header}" "$tour_out"
  fi
}

tour_run_once() {
  local regex=$1 command=$2
  tour_out=$(cd "$here" && eval "$command" 2>&1) || return 1
  printf '%s\n' "$tour_out" | grep -Eq "$regex"
}

step_run() {
  local secs=$1 regex=$2 comment=$3 command=$4
  if [ "$tour_mode" = print ]; then
    tour_print "$comment" "$command"
    return 0
  fi
  if tour_try "$secs" tour_run_once "$regex" "$command"; then
    printf 'tour: ok    %s\n' "$command"
  else
    tour_fail "$command: expected output matching /$regex/" "$tour_out"
  fi
}

step_note() {
  [ "$tour_mode" = print ] && tour_print "$1" "$2"
  return 0
}

# The steps, in the order a person takes them. They leave the stack as they found it (the
# bans they make are lifted), so the tour can be taken again.
tour_steps() {
  local rel_run=${run#"$here"/} w=warden
  local url="http://127.0.0.1:$HTTP_PORT" url2="http://127.0.0.1:$HTTP2_PORT"
  local rel_logs=${logs#"$here"/}

  section "First, in this shell: the warden CLI on PATH, talking to this stack"
  step_note 'sets PATH, WARDEN_CONFIG (run/warden.toml)' ". $rel_run/env.sh"

  section "The blacklist, fleet-wide: two nginx nodes ($HTTP_PORT, $HTTP2_PORT) follow one Redis"
  step_http 3 200 '' '200 "hello from behind warden" (X-Warden-Node: 1)' "curl -i $url/"
  step_http 3 200 'X-Warden-Node: 2' '200 from the second node' "curl -i $url2/"
  step_run 3 'banned|added|127\.0\.0\.1' 'ban this client everywhere' "$w ban 127.0.0.1 --ttl 10m --reason demo"
  step_http 3 403 'X-Warden-Reason: blacklist 127\.0\.0\.1' '403 within ~100 ms; X-Warden-Reason says why' "curl -i $url/"
  step_http 3 403 'X-Warden-Node: 2' '403 on the other node too' "curl -i $url2/"
  step_http 3 200 'X-Warden-Decision: dry_run' '200: a dry-run location serves, and logs dry_run' "curl -i $url/dry-run/"
  if has_ipv6_loopback && grep -q '^\s*listen \[::1\]' "$run/nginx.conf" 2>/dev/null; then
    step_http 3 200 '' 'another client: ::1 is not banned' "curl -i 'http://[::1]:$HTTP_PORT/'"
  fi
  step_run 3 '127\.0\.0\.1.*demo' 'what is banned, by whom, until when' "$w list"
  step_run 3 '' 'lift it' "$w unban 127.0.0.1"
  step_http 3 200 '' '200 again' "curl -i $url/"

  section "Rate limit and autoban: /api/ allows 5 r/s with a burst of 10; 10 refusals ban for 1 min"
  step_run 3 '429' 'a burst from 127.0.0.2: 200s, then 429s, then 403s once autoban strikes' \
    "for i in \$(seq 40); do curl -s -o /dev/null -w '%{http_code} ' --interface 127.0.0.2 $url/api/; done; echo"
  step_http 3 403 'X-Warden-Reason: blacklist 127\.0\.0\.2.*autoban' '127.0.0.2 is banned on node 2 as well' \
    "curl -i --interface 127.0.0.2 $url2/"
  step_run 3 '127\.0\.0\.2.*autoban' 'the autoban, with its reason' "$w list"
  step_run 3 '' 'lift it' "$w unban 127.0.0.2"
  step_http 3 200 'RateLimit-Policy' '200 with RateLimit headers' "curl -i $url/api/"

  section "Served at the edge: a query's result kept warm in Redis by the daemon (every 5 s)"
  step_http 15 200 'X-Warden-Cache: (HIT|REVALIDATED)' 'X-Warden-Cache: HIT, no MariaDB query' "curl -i $url/members/recent"
  step_run 3 'recent-members' 'the cached value and its age' "$w cache show recent-members"

  section "Behaviour: scanners and challenges"
  step_http 3 403 'id="warden-challenge"' 'a proof-of-work page: a browser solves it, curl does not' \
    "curl -i $url/login/"
  step_note 'in a browser: the page solves itself, then the login form' "$url/login/"

  section "Traffic across the fleet"
  step_run 30 'sent' 'a short burst from 127.0.0.10-17 to both nodes (bounded)' "make -s demo-traffic"
  step_run 10 '127\.0\.0\.1[0-7]' 'who sends the most, with refusals and countries' "$w top"
  step_run 5 '127\.0\.0\.14 .*probe' 'the scanner 127.0.0.14, banned by the probe rule, and why' \
    "$w list"

  section "The console: traffic, top talkers, bans, jobs and nodes on one live page"
  step_note 'open it in a browser (Ban/Unban from a row; docs/console.md)' "http://127.0.0.1:$DAEMON_PORT/"
  step_http 3 200 'Content-Type: text/html' 'the page, served by warden daemon' "curl -i http://127.0.0.1:$DAEMON_PORT/"
  step_run 5 '127\.0\.0\.1[0-7]' 'what its top talkers panel reads' \
    "curl -s 'http://127.0.0.1:$DAEMON_PORT/api/v1/top?window=5m&limit=5'"

  section "Jobs (warden daemon; run/warden.toml)"
  step_run 3 'archive-members' 'schedules, next fire times, last results' "$w job list"
  step_run 10 'heartbeat' 'a command every 5 s' "$w job history heartbeat --limit 3"
  step_run 25 'archive-members.*ok' 'the first run moves 3,000 members; later ones a few each' \
    "$w job history archive-members --limit 3"
  step_run 3 '' 'what is left to move' "$w members migrate --dry-run"

  section "Metrics and logs"
  step_run 3 'warden_requests_total' "node 1's metrics (Prometheus text)" "curl -s $url/warden/metrics"
  step_run 3 'warden_daemon_up' "the daemon's metrics" "curl -s http://127.0.0.1:$DAEMON_PORT/metrics"
  step_note 'warden_json: country, decision, reason' "tail $rel_logs/access.log"
  step_note "the module's Redis sync" "tail $rel_logs/error.log"
  step_note 'what runs' "make status"
  step_note 'stops all of it' "make stop"
}

print_tour() {
  printf '\nWarden runs on loopback (state and logs in %s/). Try:\n' "${run#"$here"/}"
  tour_mode=print tour_steps
  printf '\n'
}

cmd_tour() {
  case ${1:-} in
    "") print_tour ;;
    --check)
      [ -n "$(pid_of nginx)" ] && [ -n "$(pid_of node2)" ] && [ -n "$(pid_of daemon)" ] ||
        die "the stack is not running: make run"
      tour_mode=check
      # What the tour's first step has a person do.
      # shellcheck disable=SC1091
      . "$run/env.sh"
      tour_steps
      ((tour_failures == 0)) || die "tour: $tour_failures step(s) did not give what they promise"
      say "tour: every step gave what it promises"
      ;;
    *) die "usage: $0 tour [--check]" ;;
  esac
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
      nginx | node2) [ -f "$module" ] || die "$module is missing: build it first (make build; make run does)" ;;
      daemon) check_cli ;;
    esac
  done
  mkdir -p "$run" "$logs"
  for c in "${components[@]}"; do
    pid=$(pid_of "$c")
    if [ -n "$pid" ]; then
      if [[ $c == nginx || $c == node2 ]] &&
        { module_replaced "$c" || [ "$template" -nt "$(node_dir "$c")/nginx.conf" ]; }; then
        # Rebuilt or reconfigured since it started: the running workers keep the old module
        # until the node is upgraded (reload_node says how).
        reload_node "$c"
      elif [ "$c" = daemon ] && [ "$cli" -nt "$run/warden.pid" ]; then
        # Rebuilt since it started: the daemon finishes its jobs and starts again.
        stop_pid daemon "$pid" TERM 10
        start_daemon
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
  [ -n "$(pid_of nginx)" ] && [ -n "$(pid_of node2)" ] && [ -n "$(pid_of daemon)" ] &&
    print_tour
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
  for c in nginx node2; do
    [ -n "$(pid_of "$c")" ] || continue
    printf '%-8s GET :%s/healthz -> %s\n' "$c" "$(node_port "$c")" \
      "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(node_port "$c")/healthz" || true)"
  done
  return $((down ? 3 : 0))
}

case ${1:-} in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  status) cmd_status ;;
  restart) shift && cmd_stop "$@" && cmd_start "$@" ;;
  reload) reload_nginx ;;
  tour) shift && cmd_tour "$@" ;;
  *)
    echo "usage: $0 start|stop|restart [redis|mariadb|nginx|node2|daemon...] | status | reload | tour [--check]" >&2
    exit 2
    ;;
esac
