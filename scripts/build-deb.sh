#!/usr/bin/env bash
# `make deb`: builds the Debian packages libnginx-mod-http-warden and warden with
# dpkg-buildpackage -b and debian/, then checks them with lintian. The tree is built from a copy
# (the tracked and untracked files git does not ignore, plus the country database), so it stays
# clean; everything goes to <build dir>/deb/ (default build/deb/):
#   *.deb, *.changes, *.buildinfo   the packages (`apt install ./build/deb/*.deb`)
#   build.log, lintian.log          what dpkg-buildpackage and lintian said
#   obj/                            the package's CMake build, kept: the next run compiles only
#                                   what changed (CMake keeps the flags of its first run: remove
#                                   it after changing DEB_BUILD_OPTIONS)
#   src/                            the copy, left behind only when the build failed
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
out=$build/deb
src=$out/src
mmdb=$here/.deps/country.mmdb

[ -s "$mmdb" ] || { echo "build-deb: $mmdb missing: run scripts/install-deps.sh" >&2; exit 1; }
git -C "$here" rev-parse --git-dir >/dev/null 2>&1 ||
  { echo "build-deb: $here is not a git work tree: the copy is made from git's file list" >&2; exit 1; }

mkdir -p "$out"
rm -rf "$src"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out"/*.log
mkdir -p "$src/.deps"
# Files deleted from the work tree but not from git's index are left out.
(cd "$here" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -xf - -C "$src"
cp -L "$mmdb" "$src/.deps/country.mmdb"

echo "build-deb: dpkg-buildpackage in $src (log: $out/build.log)"
start=$SECONDS
# Not the calling make's jobserver: dpkg-buildpackage runs make and cmake of its own.
if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL WARDEN_DEB_BUILDDIR="$out/obj" \
      dpkg-buildpackage -us -uc -b -J"${JOBS:-$(nproc)}" >"$out/build.log" 2>&1); then
  tail -n 40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (full log: $out/build.log)" >&2
  exit 1
fi
echo "build-deb: built in $((SECONDS - start)) s:"
(cd "$out" && ls -1 ./*.deb)
rm -rf "$src"

# Every tag lintian still reports is explained in debian/*.lintian-overrides; a new error or
# warning fails the build.
changes=$(ls "$out"/*.changes)
if ! lintian --display-info --fail-on error,warning "$changes" >"$out/lintian.log" 2>&1; then
  cat "$out/lintian.log" >&2
  echo "build-deb: lintian found errors or warnings (log: $out/lintian.log)" >&2
  exit 1
fi
cat "$out/lintian.log"
echo "build-deb: lintian: no errors or warnings"
