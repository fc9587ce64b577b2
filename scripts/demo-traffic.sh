#!/usr/bin/env bash
# `make demo-traffic`: a short, bounded burst of requests to both nginx nodes of `make run`,
# from several loopback addresses (127.0.0.10-17; all of 127.0.0.0/8 is this host), so that
# `warden top`, the metrics and the access logs have something in every column:
#
#   127.0.0.10-13  browse: pages, the edge-cached /members/recent, the dry-run location
#   127.0.0.14     a scanner walking 404s: the probe rule bans it on both nodes
#   127.0.0.15     hammers /api/ past its limit: 429s, then autoban's 403s on both nodes
#                  (banned for a minute; `warden unban 127.0.0.15` lifts it sooner)
#   127.0.0.16-17  use /api/ within its limit
#
# About 400 requests in all, each with a 5 s limit; nothing leaves the machine.
# WARDEN_RUN_DIR as for scripts/run-local.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
run=${WARDEN_RUN_DIR:-$here/run}
ports_file=$run/ports.env

die() {
  printf 'demo-traffic: %s\n' "$*" >&2
  exit 1
}

[ -f "$ports_file" ] || die "no $ports_file: start the stack first (make run)"
# shellcheck disable=SC1090
. "$ports_file"
[ -n "${HTTP_PORT:-}" ] && [ -n "${HTTP2_PORT:-}" ] || die "$ports_file names no nginx ports: make run"
command -v curl >/dev/null || die "curl not found: run make deps"

nodes=("http://127.0.0.1:$HTTP_PORT" "http://127.0.0.1:$HTTP2_PORT")
for node in "${nodes[@]}"; do
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$node/healthz")" = 200 ] ||
    die "$node/healthz does not answer 200: is the stack running (make status)?"
done

statuses=$(mktemp)
trap 'rm -f "$statuses"' EXIT

# send ADDRESS PATH...: one curl (one connection, kept alive) per node, every path once; the
# status of each request goes to $statuses.
send() {
  local address=$1 node path args
  shift
  for node in "${nodes[@]}"; do
    args=()
    for path in "$@"; do args+=(-o /dev/null "$node$path"); done
    curl -s -m 5 --interface "$address" -w '%{http_code}\n' "${args[@]}" >>"$statuses" || true
  done
}

repeat() {
  local n=$1 path=$2 i
  for ((i = 0; i < n; i++)); do printf '%s\n' "$path"; done
}

browse=()
mapfile -t browse < <(repeat 8 / && repeat 4 /members/recent && repeat 2 /dry-run/ &&
  echo /missing/favicon.ico)
for a in 10 11 12 13; do send "127.0.0.$a" "${browse[@]}" & done
probes=(/.env /wp-login.php /phpmyadmin/ /admin/ /backup.zip /config.php /.git/config
  /xmlrpc.php /server-status /wp-admin/ /cgi-bin/ /shell.php /db.sql /.aws/credentials
  /actuator/health /vendor/phpunit/ /debug/ /old/ /test.php /install.php)
send 127.0.0.14 "${probes[@]/#//missing}" &
api=()
mapfile -t api < <(repeat 8 /api/)
for a in 16 17; do send "127.0.0.$a" "${api[@]}" & done
wait
# Last, so that its ban does not cut the others short: 60 requests at once, far past the
# burst of 10.
mapfile -t api < <(repeat 60 /api/)
send 127.0.0.15 "${api[@]}"

total=$(wc -l <"$statuses")
summary=$(sort "$statuses" | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
printf 'demo-traffic: sent %s requests from 8 addresses to 2 nodes: %s\n' "$total" "$summary"
printf 'demo-traffic: try `warden top`; `warden list` has 127.0.0.15 (autoban), 127.0.0.14 (probe)\n'
