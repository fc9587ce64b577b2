#!/usr/bin/env bash
# warden(1) and the bash completion of `warden`, generated from the built binary's --help and
# every command's (CLI11 writes them, so they never drift from the code):
#   gen-cli-docs.sh <warden binary> <output dir>  ->  <dir>/warden.1, <dir>/warden.bash-completion
# Run by the build (sidecar/CMakeLists.txt); `make install` and the Debian package install both.
set -euo pipefail

warden=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every command path, breadth first: "" (warden itself), "ban", ..., "job run", ...
paths=("")
for ((i = 0; i < ${#paths[@]}; i++)); do
  p=${paths[$i]}
  # shellcheck disable=SC2086  # a path is words
  "$warden" $p --help >"$tmp/help.$i"
  while read -r sub; do paths+=("${p:+$p }$sub"); done < <(
    awk '/^Subcommands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' \
      "$tmp/help.$i")
done

# --- the bash completion -----------------------------------------------------------------------
# Per command path: its subcommands, its options, and what the options that take a value take:
# one of CLI11's listed choices (TYPE:{a,b}), a file (FILE, PATH), or anything (no completion).
{
  cat <<'EOF'
# bash completion for warden(1). Generated from `warden --help` and each command's --help by
# scripts/gen-cli-docs.sh: edit the commands, not this file.

declare -gA _warden_subcommands=() _warden_options=() _warden_values=()
EOF
  for ((i = 0; i < ${#paths[@]}; i++)); do
    p=${paths[$i]}
    key="warden${p:+ $p}"  # bash wants no empty key
    subs=$(awk '/^Subcommands:/ { on = 1; next } /^$/ { on = 0 }
                on && /^  [a-z]/ { printf "%s%s", sep, $1; sep = " " }' "$tmp/help.$i")
    [ -z "$subs" ] || printf '_warden_subcommands["%s"]="%s"\n' "$key" "$subs"
    # "  -o,--output FILE  desc", "  --by TEXT:{ip,country} desc", "  --json  desc": the names,
    # then, one space on, the value's type if the option takes one.
    awk -v path="$key" '
      /^Options:/ { on = 1; next }
      /^[^ ]/ { on = 0 }
      on && /^  -/ {
        line = substr($0, 3)
        names = line; sub(/ .*/, "", names)
        rest = substr(line, length(names) + 1)
        type = ""
        if (rest ~ /^ [^ ]/) { type = substr(rest, 2); sub(/ .*/, "", type) }
        n = split(names, list, ",")
        for (k = 1; k <= n; k++) {
          if (path != "warden" && (list[k] == "-h" || list[k] == "--help")) continue  # warden'"'"'s
          opts = opts (opts == "" ? "" : " ") list[k]
          if (type == "") continue
          if (match(type, /:\{[^}]*\}/)) {
            choices = substr(type, RSTART + 2, RLENGTH - 3); gsub(/,/, " ", choices)
            value = "=" choices
          } else if (type ~ /^(FILE|PATH)/) {
            value = "file"
          } else {
            value = "any"
          }
          printf "_warden_values[%s]=\"%s\"\n", "\"" path "|" list[k] "\"", value
        }
      }
      END { printf "_warden_options[\"%s\"]=\"%s\"\n", path, opts }' "$tmp/help.$i"
  done
  cat <<'EOF'

_warden() {
  local cur=${COMP_WORDS[COMP_CWORD]} path=warden word value i
  # The command path typed so far ("warden job run"); warden's own options may come after it.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      value=${_warden_values["$path|$word"]:-${_warden_values["warden|$word"]:-}}
      [[ -n $value && $word != *=* ]] && ((i++))
    elif [[ " ${_warden_subcommands["$path"]:-} " == *" $word "* ]]; then
      path="$path $word"
    fi
  done
  local prev=${COMP_WORDS[COMP_CWORD - 1]}
  if ((COMP_CWORD > 1)) && [[ $prev == -* ]]; then
    value=${_warden_values["$path|$prev"]:-${_warden_values["warden|$prev"]:-}}
    case $value in
      =*) mapfile -t COMPREPLY < <(compgen -W "${value#=}" -- "$cur"); return ;;
      file) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
      any) COMPREPLY=(); return ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_warden_options["$path"]} ${_warden_options[warden]}" \
      -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "${_warden_subcommands["$path"]:-}" -- "$cur")
  fi
}
complete -F _warden warden
EOF
} >"$tmp/completion"

# --- the manual page ---------------------------------------------------------------------------
# help2man writes it from `warden --help` and `warden --version`; each command's help follows in
# COMMANDS (without the footer every help repeats), and FILES and SEE ALSO come from here.
{
  echo "[COMMANDS]"
  echo "Each command takes the options above too, before or after its name."
  for ((i = 1; i < ${#paths[@]}; i++)); do
    echo ".SS \"warden ${paths[$i]}\""
    echo ".nf"
    grep -v -E '^(Connection|MariaDB|Config file|Exit codes): ' "$tmp/help.$i" |
      sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e '${/^$/d}'
    echo ".fi"
  done
  cat <<'EOF'
[FILES]
.TP
.I /etc/warden/warden.toml
Settings of the command and of the daemon (see the example in
.IR /usr/share/doc/warden/examples/warden.toml ).
.TP
.I /lib/systemd/system/warden.service
The service that runs
.BR "warden daemon" ;
it logs to the journal
.RB ( "journalctl -u warden" ).
[SEE ALSO]
.BR nginx (8),
.BR redis-server (1),
.BR journalctl (1)
EOF
} >"$tmp/include"

help2man --no-info --no-discard-stderr --section 1 \
  --name "manage the Redis-backed blacklist that nginx enforces" \
  --include "$tmp/include" --output "$tmp/warden.1" "$warden"

mkdir -p "$out"
mv "$tmp/completion" "$out/warden.bash-completion"
mv "$tmp/warden.1" "$out/warden.1"
