#!/usr/bin/env bash
# `make bench`: the benchmarks, each printing its figure next to a baseline measured in the
# same run. Only loopback traffic, bounded in time. Extra arguments go to the blacklist bench
# (e.g. --entries 100000 --seconds 3); its paired run takes about 5 minutes more. The scheduler
# bench takes about 70 s.
# WARDEN_BENCH_MEMBERS sets the members bench's size (default 1,000,000 members; it runs
# for several minutes at that size: run it on a quiet machine). The failover bench takes about
# two minutes (eight Sentinel failovers, then Redis's cost per node).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
bench="$build/tests/bench/blacklist_bench"
[ -x "$bench" ] || { echo "bench: $bench missing: run make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk missing: run make deps" >&2; exit 1; }
"$bench" "$@"
echo
# The request path's ratios again, each configuration served at the same time as its baseline
# (the targets of docs/performance.md are judged on these: a shared host's speed drifts).
"$bench" --paired --only a,b,c,behaviour,top --rounds 16
echo
# --cluster: sync=exact with a key per connection against a 3-primary Redis Cluster too.
"$build/tests/bench/limit_bench" --cluster
"$build/tests/bench/cache_serve_bench"
"$build/tests/bench/challenge_bench"
"$build/tests/bench/scheduler_bench"
"$build/tests/bench/members_bench"
"$build/tests/bench/failover_bench"
