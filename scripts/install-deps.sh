#!/usr/bin/env bash
# Installs what Warden needs to build, test, package (`make deb`) and run on Debian 12, and
# nothing that is already there: Debian packages with apt, the CC0 country database from npm into
# .deps/.
# Fails loudly: a missing dependency must stop `make test`, not hide.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git ca-certificates
  nginx nginx-dev libpcre3-dev zlib1g-dev libssl-dev
  libhiredis-dev libmaxminddb-dev mmdb-bin
  default-libmysqlclient-dev
  redis-server mariadb-server mariadb-client
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcpp-httplib-dev
  clang libclang-rt-14-dev
  wrk curl procps tzdata openssl valgrind linux-perf
  chromium
  percona-toolkit
  debhelper dpkg-dev help2man lintian
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm may come with a Node.js that is not Debian's; only install Debian's when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian starts the services on install; Warden runs its own instances on free ports.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The country database: a real CC0 GeoIP file (lookup path country_code).
mmdb_pkg=@ip-location-db/geo-whois-asn-country-mmdb
deps="$here/.deps"
mmdb="$deps/node_modules/$mmdb_pkg/geo-whois-asn-country.mmdb"
if [ ! -s "$mmdb" ]; then
  echo "install-deps: fetching $mmdb_pkg from npm"
  mkdir -p "$deps"
  npm install --silent --no-audit --no-fund --prefix "$deps" "$mmdb_pkg"
fi
if [ ! -s "$mmdb" ]; then
  found=$(find "$deps/node_modules/$mmdb_pkg" -name '*.mmdb' | head -n1)
  [ -n "$found" ] || { echo "install-deps: no .mmdb in $mmdb_pkg" >&2; exit 1; }
  ln -sf "$found" "$mmdb"
fi
ln -sf "$mmdb" "$deps/country.mmdb"
echo "install-deps: ok"
