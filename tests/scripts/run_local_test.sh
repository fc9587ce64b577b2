#!/usr/bin/env bash
# What `make run` promises a new user (scripts/run-local.sh): the whole stack starts on
# loopback; every step of the tour it prints gives what it says (`tour --check` runs the
# printed commands); a rebuilt module is loaded by the binary upgrade without a refused
# request; and `make stop` leaves no process behind.
#
#   run_local_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

src=$1
build=$2
[ -f "$build/ngx_http_warden_module.so" ] || {
  echo "FAIL: $build/ngx_http_warden_module.so is missing (make build)"
  exit 1
}

# A short path: MariaDB's unix socket lives in it.
work=$(mktemp -d /tmp/warden-run-local.XXXXXX)
run=$work/run
# A build directory of its own, so that the rebuild below replaces no file other tests use.
mkdir -p "$work/build"
cp "$build/ngx_http_warden_module.so" "$work/build/"
ln -s "$build/sidecar" "$work/build/sidecar"
export WARDEN_RUN_DIR=$run WARDEN_BUILD_DIR=$work/build
script=$src/scripts/run-local.sh

fail() {
  echo "FAIL: $*"
  exit 1
}

# Every process with a file, socket or working directory under $work.
holders() {
  local p link
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    for link in "$p/cwd" "$p"/fd/*; do
      case $(readlink "$link" 2>/dev/null) in
        "$work"/*)
          echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
          break
          ;;
      esac
    done
  done
}

cleanup() {
  local rc=$?
  "$script" stop >/dev/null 2>&1 || true
  local left
  left=$(holders | awk '{print $1}')
  # shellcheck disable=SC2086
  [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

echo "--- start"
"$script" start >"$work/start.out" 2>&1 || {
  cat "$work/start.out"
  fail "scripts/run-local.sh start failed"
}
cat "$work/start.out"
# shellcheck disable=SC1091
. "$run/ports.env"
grep -q "curl -i http://127.0.0.1:$HTTP_PORT/" "$work/start.out" || fail "start printed no tour"
"$script" status || fail "status says a component is stopped"

echo "--- the tour"
"$script" tour --check || fail "a step of the tour did not give what it promises"

echo "--- a rebuild while serving: the nodes are upgraded onto the new module"
cp "$work/build/ngx_http_warden_module.so" "$work/build/module.new"
mv "$work/build/module.new" "$work/build/ngx_http_warden_module.so"
new_inode=$(stat -c %i "$work/build/ngx_http_warden_module.so")
statuses=$work/statuses
(for i in $(seq 200); do
  curl -s -o /dev/null -m 5 -w '%{http_code}\n' "http://127.0.0.1:$HTTP_PORT/healthz"
  sleep 0.01
done >"$statuses") &
traffic=$!
"$script" start >"$work/restart.out" 2>&1 || {
  cat "$work/restart.out"
  fail "a second start after the rebuild failed"
}
wait "$traffic"
grep -E 'nginx +upgraded' "$work/restart.out" || fail "node 1 was not upgraded: $(cat "$work/restart.out")"
grep -E 'node2 +upgraded' "$work/restart.out" || fail "node 2 was not upgraded"
[ "$(grep -c '^200$' "$statuses")" = 200 ] ||
  fail "requests during the upgrade: $(sort "$statuses" | uniq -c | tr '\n' ' ')"
for pidfile in "$run/nginx.pid" "$run/node2/nginx.pid"; do
  master=$(cat "$pidfile")
  for worker in $(pgrep -P "$master"); do
    grep -q "$work/build/ngx_http_warden_module.so (deleted)" "/proc/$worker/maps" &&
      fail "worker $worker of master $master still runs the replaced module"
    [ "$(awk '/ngx_http_warden_module.so/ {print $5; exit}' "/proc/$worker/maps")" = "$new_inode" ] ||
      fail "worker $worker of master $master does not map the new module (inode $new_inode)"
  done
done
"$script" tour --check >/dev/null || fail "the tour after the upgrade"

echo "--- stop"
"$script" stop || fail "scripts/run-local.sh stop failed"
sleep 0.5
left=$(holders)
[ -z "$left" ] || fail "processes left behind after stop: $left"
"$script" status >/dev/null && fail "status says something still runs"
echo "PASS: make run, the tour, the upgrade and make stop"
