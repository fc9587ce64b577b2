#!/usr/bin/env bash
# `make bench`: the benchmarks, each printing its figure next to a baseline measured in the
# same run. Only loopback traffic, bounded in time. Extra arguments go to the blacklist bench
# (e.g. --entries 100000 --seconds 3). The scheduler bench takes about 70 s.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
bench="$build/tests/bench/blacklist_bench"
[ -x "$bench" ] || { echo "bench: $bench missing: run make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk missing: run make deps" >&2; exit 1; }
"$bench" "$@"
echo
"$build/tests/bench/limit_bench"
"$build/tests/bench/cache_serve_bench"
"$build/tests/bench/scheduler_bench"
"$build/tests/bench/members_bench"
