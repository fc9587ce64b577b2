#!/usr/bin/env bash
# Builds ngx_http_warden_module.so against Debian's nginx: nginx-dev ships the headers,
# `configure` and the exact flags Debian's nginx was built with (conf_flags); with
# --with-compat the module loads into the packaged binary. WARDEN_MODULE_OUT names the installed
# file (default: build/ngx_http_warden_module.so). More flags: WARDEN_MODULE_CFLAGS for compiling
# and linking (the ASan build), WARDEN_MODULE_CC_OPT for compiling only and WARDEN_MODULE_LD_OPT
# for linking only (the Debian package: dpkg-buildflags).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDEN_BUILD_DIR:-$here/build}
src=/usr/share/nginx/src
[ -x "$src/configure" ] || { echo "build-module: $src/configure missing: apt-get install nginx-dev" >&2; exit 1; }
core_lib="$build/ngx_module/core/libwarden_core.a"
[ -f "$core_lib" ] || { echo "build-module: $core_lib missing: build the core first (make build)" >&2; exit 1; }

work="$build/nginx-module"
# Re-configure only when the addon config or the nginx version changed.
stamp="$work/.configured"
cflags=${WARDEN_MODULE_CFLAGS:-}
cc_opt=${WARDEN_MODULE_CC_OPT:-}
ld_opt=${WARDEN_MODULE_LD_OPT:-}
want="$(nginx -v 2>&1) $(md5sum "$here/config" | cut -d' ' -f1) $cflags${cc_opt:+ cc: $cc_opt}${ld_opt:+ ld: $ld_opt}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  cp -a "$src/." "$work/"
  # shellcheck disable=SC1091
  . "$src/conf_flags"
  # shellcheck disable=SC2086  # joined with single spaces, none left over
  cc_more=$(echo $cflags $cc_opt) ld_more=$(echo $cflags $ld_opt)
  # Added to Debian's own --with-cc-opt/--with-ld-opt, or given as they.
  cc_done=0 ld_done=0
  for i in "${!NGX_CONF_FLAGS[@]}"; do
    case ${NGX_CONF_FLAGS[$i]} in
      --with-cc-opt=*) NGX_CONF_FLAGS[$i]="${NGX_CONF_FLAGS[$i]} $cc_more" cc_done=1 ;;
      --with-ld-opt=*) NGX_CONF_FLAGS[$i]="${NGX_CONF_FLAGS[$i]} $ld_more" ld_done=1 ;;
    esac
  done
  ((cc_done)) || [ -z "$cc_more" ] || NGX_CONF_FLAGS+=("--with-cc-opt=$cc_more")
  ((ld_done)) || [ -z "$ld_more" ] || NGX_CONF_FLAGS+=("--with-ld-opt=$ld_more")
  (cd "$work" && WARDEN_BUILD_DIR="$build" ./configure "${NGX_CONF_FLAGS[@]}" \
      --add-dynamic-module="$here" >"$work/configure.log" 2>&1) || {
    tail -n 30 "$work/configure.log" >&2
    echo "build-module: nginx configure failed (full log: $work/configure.log)" >&2
    exit 1
  }
  echo "$want" >"$stamp"
fi
# nginx's Makefile does not know the module depends on the core library: relink every time.
rm -f "$work/objs/ngx_http_warden_module.so"
make -s -C "$work" -f objs/Makefile modules
# Install by rename, never by writing over the file: a running nginx maps the old one, and
# rewriting mapped code in place kills every worker at once (then every respawned one). The old
# file lives on, unnamed, until the last process that maps it lets go.
out=${WARDEN_MODULE_OUT:-$build/ngx_http_warden_module.so}
if cmp -s "$work/objs/ngx_http_warden_module.so" "$out"; then
  # Unchanged: the file nginx runs from stays (`make run` upgrades nodes whose file changed).
  echo "build-module: $out (unchanged)"
  exit 0
fi
cp "$work/objs/ngx_http_warden_module.so" "$out.new.$$"
mv -f "$out.new.$$" "$out"
echo "build-module: $out"
