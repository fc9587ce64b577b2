#!/usr/bin/env bash
# The module under AddressSanitizer, for the tests (`make test`): the C++ core built with gcc's
# ASan, and the C glue compiled by nginx's own build with it. Debian's nginx loads it with the
# ASan runtime preloaded (tests/support/nginx_server.cc, WARDEN_TEST_NGINX_PRELOAD).
# Builds into <build dir>-module-asan (default build-module-asan).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
asan=${WARDEN_ASAN_BUILD_DIR:-$build-module-asan}

mkdir -p "$asan"
cmake -S "$here" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DSANITIZER=address \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DWARDEN_TESTS=OFF >"$asan/cmake.log" 2>&1 || {
  tail -n 30 "$asan/cmake.log" >&2
  echo "build-module-asan: cmake failed (log: $asan/cmake.log)" >&2
  exit 1
}
cmake --build "$asan" -j "$(nproc)" --target warden_core warden_common
WARDEN_BUILD_DIR="$asan" WARDEN_MODULE_CFLAGS="-fsanitize=address -fno-omit-frame-pointer" \
    "$here/scripts/build-module.sh"
