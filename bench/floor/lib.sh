# The floor's library, sent ahead of each host's lines in the same `ssh HOST 'sh -s'`: the least
# a tool must do on a host to reach the end state, idempotently. One `stat` and one `sha1sum`
# for all managed paths first, compared with the expected state by the shell's own `case`, so a
# host that is already right costs a handful of processes; then write only what differs (a temp
# file beside the target, renamed over it), and fix mode/owner only when they differ. Counts what
# it changed in $changed.
#   st PATH...                  the state of every managed path (before any line below)
#   sums FILE...                the content hashes of the managed files
#   d PATH MODE UID GID         a directory
#   f PATH MODE UID GID SHA1 B64  a file, content as base64
#   l TARGET PATH               a symlink
set -u
changed=0
umask 077
NL='
'
S= H=
st() { S=$(stat -c '%a %u %g %n' -- "$@" 2>/dev/null); }
sums() { H=$(sha1sum -- "$@" 2>/dev/null); }
meta() {
  case "$NL$S$NL" in *"$NL$2 $3 $4 $1$NL"*) return 0;; esac
  chown "$3:$4" "$1" && chmod "$2" "$1" && changed=$((changed + 1))
}
d() {
  # A new directory is one change; the state read before it existed cannot judge its mode.
  if [ ! -d "$1" ]; then mkdir -p "$1" && chown "$3:$4" "$1" && chmod "$2" "$1" && changed=$((changed + 1)); return; fi
  meta "$@"
}
f() {
  case "$NL$H$NL" in *"$NL$5  $1$NL"*) meta "$1" "$2" "$3" "$4"; return;; esac
  t="$1.floor-new"
  printf '%s' "$6" | base64 -d > "$t" || exit 1
  chown "$3:$4" "$t" && chmod "$2" "$t" && mv -f "$t" "$1" && changed=$((changed + 1))
}
l() {
  [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ] && return 0
  ln -sfn "$1" "$2" && changed=$((changed + 1))
}
