#!/bin/bash
# `make profile`: what each piece of Warden's request path costs, in instructions per request,
# counted by callgrind in one nginx worker (master_process off) against stock nginx serving the
# same page with the same JSON access log minus Warden's fields. Instruction counts do not move
# with the machine's load, unlike timings, so the table is comparable from run to run; the CPU
# ratios of `make bench` say what the instructions cost in time (see docs/performance.md).
#
#   PROFILE_REQUESTS  requests counted per configuration (default 2000, one keep-alive connection)
#   PROFILE_ENTRIES   blacklist sizes for the preaccess decision (default "0 10000 1000000")
#   PROFILE_KEEP=1    keeps the callgrind files (their directory is printed) for a closer look
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
module=$build/ngx_http_warden_module.so
warden=$build/sidecar/warden
mmdb=$here/.deps/country.mmdb
requests=${PROFILE_REQUESTS:-2000}
entries_list=${PROFILE_ENTRIES:-"0 10000 1000000"}

die() { echo "profile-request-path: $*" >&2; exit 1; }
for tool in valgrind callgrind_annotate callgrind_control nginx redis-server redis-cli curl; do
  command -v "$tool" > /dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -f "$module" ] && [ -x "$warden" ] || die "build first: make build"
[ -f "$mmdb" ] || die "$mmdb is missing: scripts/install-deps.sh fetches it"

work=$(mktemp -d /tmp/warden-profile.XXXXXX)
redis_pid=
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2> /dev/null
  pkill -f "nginx -c $work/" 2> /dev/null || true
  if [ -n "${PROFILE_KEEP:-}" ]; then echo "callgrind files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (echo > /dev/tcp/127.0.0.1/$port) 2> /dev/null || { echo "$port"; return; }
  done
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  > "$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done

# Random IPv4 addresses outside 0/8 and 127/8 (where the client lives), as blacklist_bench.
blacklist() {
  local count=$1
  redis-cli -p "$redis_port" flushall > /dev/null
  [ "$count" -gt 0 ] || return 0
  awk -v n="$count" 'BEGIN { srand(2026); while (k < n) { a = int(1 + rand() * 254);
      if (a == 127) continue; printf "%d.%d.%d.%d\n", a, int(rand() * 256), int(rand() * 256),
      int(rand() * 256); k++ } }' > "$work/blacklist.txt"
  "$warden" ban --file "$work/blacklist.txt" --redis "redis://127.0.0.1:$redis_port" > /dev/null
}

# The shipped format, and the same line without Warden's fields (as blacklist_bench does).
format_warden=$(grep -v '^#' "$here/conf/warden-log-format.conf")
format_plain=$(printf '%s\n' "$format_warden" | grep -v '\$warden_' | sed 's/warden_json/plain_json/')

# profile NAME HTTP: runs nginx under callgrind with HTTP as the body of its http block,
# warms up, counts $requests requests, and leaves the counts in $work/NAME.out.
profile() {
  local name=$1 http=$2 dir=$work/$1 port
  port=$(free_port)
  mkdir -p "$dir/html"
  echo ok > "$dir/html/index.html"
  {
    case "$http" in *warden*) echo "load_module $module;" ;; esac
    echo "master_process off; daemon off; worker_processes 1;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "error_log $dir/error.log notice; pid $dir/nginx.pid;"
    echo "events { worker_connections 64; }"
    echo "http { client_body_temp_path $dir/t1; proxy_temp_path $dir/t2; fastcgi_temp_path $dir/t3;"
    echo "  uwsgi_temp_path $dir/t4; scgi_temp_path $dir/t5;"
    echo "${http//@PORT@/$port}" | sed -e "s#@DIR@#$dir#g" -e "s#@MMDB@#$mmdb#g" \
      -e "s#@REDIS@#127.0.0.1:$redis_port#g"
    echo "}"
  } > "$dir/nginx.conf"
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" \
    nginx -c "$dir/nginx.conf" -p "$dir/" > "$dir/valgrind.log" 2>&1 &
  local pid=$! url="http://127.0.0.1:$port/" i
  for i in $(seq 600); do curl -s -o /dev/null "$url" && break; sleep 0.2; done
  if [[ "$http" == *warden_blacklist_zone* ]]; then
    for i in $(seq 600); do grep -q "blacklist loaded" "$dir/error.log" && break; sleep 0.5; done
    grep -q "blacklist loaded" "$dir/error.log" || die "$name: the blacklist never loaded"
  fi
  local urls=()
  for i in $(seq "$requests"); do urls+=("$url"); done
  curl -s "${urls[@]:0:200}" > /dev/null                   # warm-up (one connection)
  callgrind_control --zero "$pid" > /dev/null 2>&1
  curl -s "${urls[@]}" > /dev/null                          # counted (one connection)
  callgrind_control --dump=counted "$pid" > /dev/null 2>&1
  kill "$pid"
  # Under valgrind a signal may wait for the next event: a request wakes nginx (one without
  # timers would sleep in epoll_wait for ever), and what is still there after 10 s is killed
  # (the counts are dumped already).
  for i in $(seq 50); do
    kill -0 "$pid" 2> /dev/null || break
    curl -s -m 1 -o /dev/null "$url" || true
    sleep 0.2
  done
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  local dump
  dump=$(ls "$dir"/cg.*.* 2> /dev/null | head -1)
  [ -n "$dump" ] || die "$name: callgrind wrote no dump (see $dir/valgrind.log)"
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$dump" > "$work/$name.out"
  callgrind_annotate --inclusive=yes --tree=calling --threshold=100 --auto=no "$dump" \
    > "$work/$name.tree"
}

# per_request NAME PATTERN: inclusive instructions of the function(s) matching PATTERN, per request
per_request() {
  awk -v pat="$2" -v n="$requests" '
    $0 ~ "PROGRAM TOTALS" && pat == "TOTAL" { gsub(",", "", $1); t = $1 }
    # Code inlined from a header shows as one more entry of the same function, each inclusive
    # of what it calls: the largest is the whole function.
    pat != "TOTAL" && $0 ~ ("^ *[0-9,]+ .*[:]" pat "[ (]") { gsub(",", "", $1); if ($1 + 0 > t) t = $1 }
    END { printf "%.0f", t / n }' "$work/$1.out"
}

# per_call NAME FUNCTION: inclusive instructions per call of FUNCTION (for the tick)
per_call() {
  awk -v f="$2" '
    $0 ~ ("[*] .*:" f " ") { gsub(",", "", $1); if ($1 + 0 > cost) cost = $1 }
    $0 ~ ("> .*:" f " [(]") && match($0, /[(][0-9]+x[)]/) {
      n = substr($0, RSTART + 1, RLENGTH - 3) + 0; if (n > calls) calls = n }
    END { if (calls) printf "%.0f", cost / calls; else printf "-" }' "$work/$1.tree"
}

site() { # the server block: a page as blacklist_bench serves it, with Warden's directives in $1
  echo "server { listen 127.0.0.1:@PORT@; $1 location / { $2 root @DIR@/html; } }"
}

stock_http="$format_plain
access_log @DIR@/access.log plain_json;
$(site "" "")"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (callgrind counts instructions: load does not change them)"
echo "caches: $(lscpu | awk -F: '/L1d|L2|L3/ { gsub(/^ +/, "", $2); printf "%s %s; ", $1, $2 }')"
echo "$requests requests of GET / (index.html, an internal redirect) on one keep-alive connection"
echo

profile stock "$stock_http"
stock=$(per_request stock TOTAL)
printf '%-52s %9s %9s\n' "configuration (the worker's ticks apart)" "instr/req" "vs stock"
printf '%-52s %9s %9s\n' "stock nginx, JSON access log" "$stock" "1.000"

# First, while Redis holds no list: the interval-mode limit alone against nginx's limit_req,
# the same key, rate and burst.
profile limit_req "limit_req_zone \$binary_remote_addr zone=api:10m rate=1000000r/s;
$format_plain
access_log @DIR@/access.log plain_json;
$(site "" "limit_req zone=api burst=1000 nodelay;")"
limit_req=$(per_request limit_req TOTAL)
profile interval "warden_redis @REDIS@; warden_top_zone off;
warden_limit_zone \$binary_remote_addr zone=api:10m rate=1000000r/s sync=1s;
$format_plain
access_log @DIR@/access.log plain_json;
$(site "" "warden_limit zone=api burst=1000 nodelay;")"
interval=$(($(per_request interval TOTAL) - $(per_request interval ngx_http_warden_tick)))
profile exact "warden_redis @REDIS@; warden_top_zone off;
warden_limit_zone \$binary_remote_addr zone=api:10m rate=1000000r/s sync=exact;
$format_plain
access_log @DIR@/access.log plain_json;
$(site "" "warden_limit zone=api burst=1000 nodelay;")"
exact=$(($(per_request exact TOTAL) - $(per_request exact ngx_http_warden_tick)))
printf '%-52s %9s %9s\n' "nginx limit_req" "$limit_req" \
  "$(awk -v a="$limit_req" -v b="$stock" 'BEGIN { printf "%.3f", a / b }')"
printf '%-52s %9s %9s\n' "warden_limit sync=1s (vs limit_req: $(awk -v a="$interval" \
  -v b="$limit_req" 'BEGIN { printf "%.3f", a / b }'))" "$interval" \
  "$(awk -v a="$interval" -v b="$stock" 'BEGIN { printf "%.3f", a / b }')"
# One request at a time: each waits for its own script call (wrk's concurrent requests share
# one per loop turn; limit_bench measures that).
printf '%-52s %9s %9s\n' "warden_limit sync=exact, one request at a time" "$exact" \
  "$(awk -v a="$exact" -v b="$stock" 'BEGIN { printf "%.3f", a / b }')"


row() { # row LABEL NAME
  local total
  # Without the worker's ticks: under callgrind a request takes ~50 times longer, so the
  # timer's ticks would weigh ~50 times more per request than they do (see "per tick" below).
  total=$(($(per_request "$2" TOTAL) - $(per_request "$2" ngx_http_warden_tick)))
  printf '%-52s %9s %9s\n' "$1" "$total" "$(awk -v a="$total" -v b="$stock" 'BEGIN { printf "%.3f", a / b }')"
}

# warden_top_zone is on by default with warden_redis: off but in (c), as in blacklist_bench.
for entries in $entries_list; do
  blacklist "$entries"
  profile "on_$entries" "warden_redis @REDIS@; warden_blacklist_zone 64m; warden_top_zone off;
$format_plain
access_log @DIR@/access.log plain_json;
$(site "warden on;" "")"
  row "(a) warden on, $entries entries" "on_$entries"
done
last=${entries_list##* }
first=${entries_list%% *}
columns=("on_$first" json top)
[ "$first" = "$last" ] || columns=("on_$first" "on_$last" json top)

profile json "warden_redis @REDIS@; warden_blacklist_zone 64m; warden_top_zone off;
warden_geoip @MMDB@;
$format_warden
access_log @DIR@/access.log warden_json;
$(site "warden on;" "")"
row "(b) (a) with $last entries + warden_json, country" json

profile top "warden_redis @REDIS@; warden_blacklist_zone 64m; warden_geoip @MMDB@;
warden_top_zone 4m;
warden_limit_zone \$binary_remote_addr zone=api:10m rate=1000000r/s sync=1s;
$format_warden
access_log @DIR@/access.log warden_json;
$(site "warden on;" "warden_limit zone=api burst=1000 nodelay;")"
row "(c) (b) + warden_top_zone + an interval-mode limit" top

echo
echo "pieces, inclusive instructions per request (per tick for the tick):"
echo "(totals move by a few hundred instructions from run to run with the heap's state; the"
echo " pieces below do not)"
printf '%-44s' "piece"
for c in "${columns[@]}"; do printf ' %9s' "$c"; done
echo
piece() { # piece LABEL FUNCTION [per_call]
  printf '%-44s' "$1"
  for c in "${columns[@]}"; do
    if [ "${3:-}" = per_call ]; then
      printf ' %9s' "$(per_call "$c" "$2")"
    else
      printf ' %9s' "$(per_request "$c" "$2")"
    fi
  done
  echo
}
piece "preaccess handler (all of it)" ngx_http_warden_handler
piece "  the blacklist/allow/country decision" warden_policy_evaluate
piece "  the blacklist lookup" "warden::BlacklistTable::Lookup"
piece "  the limit (key, bucket, headers)" ngx_http_warden_limit
piece "  the request's context (made or refound)" ngx_http_warden_find_ctx
piece "\$warden_country" ngx_http_warden_country_variable
piece "\$warden_decision" ngx_http_warden_decision_variable
piece "\$warden_reason" ngx_http_warden_reason_variable
piece "log phase handler (all of it)" ngx_http_warden_log_handler
piece "  node stats, traffic counter included" warden_worker_count
piece "  traffic counter (warden_top_zone)" "warden::Worker::CountTraffic"
piece "  behaviour rules" ngx_http_warden_behaviour_log
piece "worker tick (per tick)" ngx_http_warden_tick per_call
