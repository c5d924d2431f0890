#!/bin/sh
# ssh wrapper for the benchmark: records each SSH session Ansible opens (one line with the
# arguments, from which the bench takes the host address), then runs the real ssh. `-O`
# control commands (check/stop/exit) are not sessions and are not recorded.
case " $* " in
  *" -O "*) ;;
  *) [ -n "$SMBDIRECT_BENCH_SSH_LOG" ] && printf '%s\n' "$*" >> "$SMBDIRECT_BENCH_SSH_LOG" ;;
esac
exec /usr/bin/ssh "$@"
