# The floor's library, sent ahead of each host's lines in the same `ssh HOST 'sh -s'`: the least
# a tool must do on a host to reach the end state, idempotently. Compare, then write only what
# differs (a temp file beside the target, renamed over it), and fix mode/owner only when they
# differ. Counts what it changed in $changed.
#   d PATH MODE UID GID        a directory
#   f PATH MODE UID GID <<EOF  a file, content as base64 on stdin
#   l TARGET PATH              a symlink
set -u
changed=0
umask 077
meta() {
  [ "$(stat -c '%a %u %g' "$1")" = "$2 $3 $4" ] && return 0
  chown "$3:$4" "$1" && chmod "$2" "$1" && changed=$((changed + 1))
}
d() {
  if [ ! -d "$1" ]; then mkdir -p "$1" && changed=$((changed + 1)); fi
  meta "$@"
}
f() {
  t="$1.floor-new"
  base64 -d > "$t" || exit 1
  if cmp -s "$t" "$1"; then
    rm -f "$t"
    meta "$@"
  else
    chown "$3:$4" "$t" && chmod "$2" "$t" && mv -f "$t" "$1" && changed=$((changed + 1))
  fi
}
l() {
  [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ] && return 0
  ln -sfn "$1" "$2" && changed=$((changed + 1))
}
