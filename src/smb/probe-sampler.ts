// The server's side of the throughput probe (issue #15, item 2): the server's CPU time during each
// phase of each client's probe, without a clock shared between hosts and without any channel
// between them in the engine. The client's probe script frames every transfer with two empty
// marker files in the share (.smbdirect-probe.ID.PHASE.start / .end, src/smb/probe-script.ts); a
// sampler on the server looks for them in the share directories every 0.1 s and, at each marker it
// sees first, reads the host's busy jiffies (/proc/stat) and the ksmbd kernel threads' utime + stime.
//
// Two scripts, each a task probe run during fact gathering (so 0 changes):
// - start (a play on smb_servers before the client play): makes the private directory DIR under
//   /run (mode 700), starts the sampler detached in its own session (setsid, stdin /dev/null,
//   output to DIR/out, cwd /) and returns at once. The sampler writes nothing but DIR. It ends by
//   itself when DIR is gone, when DIR/stop appears (collect), or after IDLE seconds without a new
//   marker (the client probe's time limit plus a margin: a phase never lasts longer), and then
//   removes DIR itself. Under --check: only looks (share directories, setsid), starts nothing.
// - collect (a play on smb_servers after the client play): asks the sampler to stop (DIR/stop),
//   waits up to 3 s for it (then TERM, only if /proc/PID/cmdline names it), prints its output and
//   removes DIR.
//
// Start lines: "sampler 1 run|check", "share DIR" (watched), "missing DIR", "fail CODE [DETAIL]",
// "started PID IDLE", "checked". Collect lines: "collect 1", "none" (no sampler: it reached its
// time limit, or never started), "out" then the sampler's lines as "| " lines, "cleanup ok|left DIR".
// Sampler lines: "begin HZ", "mark ID PHASE start|end USER NICE SYSTEM IRQ SOFTIRQ ksmbd[ PID:TICKS]...",
// "who ID CLIENT MOUNT", "stopped" | "idle" (its time limit). src/smb/probe-server.ts reads them.
import { quote } from '../quote.js';

/** The sampler's name in /proc/PID/cmdline ($0 of its sh): how collect knows the PID is still ours. */
export const SAMPLER_NAME = 'smbdirect-probe-sampler';

/** Seconds the sampler waits for a marker beyond the client probe's own time limit. */
export const SAMPLER_MARGIN_S = 120;

export interface SamplerSeams {
  /** Where the private directory goes (default /run). */
  base?: string;
}

const dirOf = (seams: SamplerSeams): string => `${seams.base ?? '/run'}/${SAMPLER_NAME}`;

const COMMON = `LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH
say() { printf '%s\\n' "$*"; }
nap() { sleep 0.1 2>/dev/null || sleep 1; }
# ours PID: is PID a sampler (its sh was started with $0 = the sampler's name)?
ours() { [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1; case $(tr '\\000' ' ' < "/proc/$1/cmdline" 2>/dev/null) in *" $NAME "*) return 0;; esac; return 1; }`;

/** The sampler itself: sh -c SAMPLER NAME DIR IDLE SHARE... */
const SAMPLER = `D=$1; IDLE=$2; shift 2
cd / || exit 1
printf '%s\\n' "$$" > "$D/pid"
say() { printf '%s\\n' "$*"; }
say "begin $(getconf CLK_TCK 2>/dev/null || echo 100)"
up() { read -r u r < /proc/uptime; UP=\${u%.*}; }
busy() { read -r j0 j1 j2 j3 j4 j5 j6 j7 rest < /proc/stat; B="$j1 $j2 $j3 $j6 $j7"; }
# The ksmbd kernel threads (ksmbd-IFACE, ksmbd:PORT, ksmbd:rPORT) and their utime + stime.
threads() { K=; for t in /proc/[0-9]*; do c=; read -r c 2>/dev/null < "$t/comm" || continue; case $c in ksmbd*) read -r x1 x2 x3 x4 x5 x6 x7 x8 x9 x10 x11 x12 x13 ut st rest 2>/dev/null < "$t/stat" && K="$K \${t#/proc/}:$((ut + st))";; esac; done; }
up; LAST=$UP; SEEN=
while :; do
  [ -d "$D" ] || exit 0
  if [ -e "$D/stop" ]; then say stopped; exit 0; fi
  up; if [ $((UP - LAST)) -ge "$IDLE" ]; then say idle; rm -rf -- "$D"; exit 0; fi
  for s in "$@"; do
    for f in "$s"/.smbdirect-probe.*.start "$s"/.smbdirect-probe.*.end; do
      [ -e "$f" ] || continue
      case "$SEEN/" in *"/$f/"*) continue;; esac
      SEEN="$SEEN/$f"
      n=\${f##*/}; n=\${n#.smbdirect-probe.}; id=\${n%%.*}; r=\${n#*.}; ph=\${r%.*}; e=\${r##*.}
      case $id in ''|*[!0-9a-f]*) continue;; esac
      case $ph.$e in rdma-write.*|rdma-read.*|tcp-write.*|tcp-read.*) ;; *) continue;; esac
      busy; threads
      say "mark $id $ph $e $B ksmbd$K"
      LAST=$UP
      if [ "$ph.$e" = rdma-write.end ]; then w=; read -r w 2>/dev/null < "$s/.smbdirect-probe.$id.rdma-write.start"; say "who $id $w"; fi
    done
  done
  sleep 0.1 2>/dev/null || sleep 1
done`;

export interface SamplerStart {
  /** The shares' directories on this server (ksmbd_shares[].path). */
  shares: string[];
  /** Seconds without a new marker after which the sampler ends and removes its directory. */
  idleS: number;
  check: boolean;
}

/** The start probe: checks, then starts the sampler detached (not under --check). */
export function samplerStartScript(s: SamplerStart, seams: SamplerSeams = {}): string {
  if (!Number.isInteger(s.idleS) || s.idleS <= 0) throw new Error(`sampler time limit must be a positive whole number of seconds, found ${s.idleS}`);
  const shares = [...new Set(s.shares)].map(quote).join(' ');
  const steps = `say "sampler 1 $MODE"
set -- ${shares}
n=0
for s in "$@"; do if [ -d "$s" ]; then say "share $s"; n=$((n+1)); else say "missing $s"; fi; done
[ "$n" -gt 0 ] || { say "fail no-share"; exit 3; }
command -v setsid >/dev/null 2>&1 || { say "fail no-setsid"; exit 3; }
if [ -d "$D" ]; then
  p=; read -r p 2>/dev/null < "$D/pid"
  if ours "$p"; then say "fail busy $p"; exit 3; fi
  [ "$MODE" = run ] && rm -rf -- "$D"
fi
[ "$MODE" = run ] || { say checked; exit 0; }
( umask 077; mkdir -- "$D" ) || { say "fail mkdir"; exit 3; }
set --
for s in ${shares}; do [ -d "$s" ] && set -- "$@" "$s"; done
setsid sh -c "$SAMPLER" "$NAME" "$D" "$IDLE" "$@" </dev/null >"$D/out" 2>/dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
say "started $! $IDLE"`;
  const vars = [`NAME=${quote(SAMPLER_NAME)}`, `D=${quote(dirOf(seams))}`, `IDLE=${s.idleS}`, `MODE=${s.check ? 'check' : 'run'}`, `SAMPLER=${quote(SAMPLER)}`];
  return [COMMON, vars.join('; '), steps, ''].join('\n');
}

const COLLECT = `say "collect 1"
[ -d "$D" ] || { say none; exit 0; }
p=; read -r p 2>/dev/null < "$D/pid"
: > "$D/stop" 2>/dev/null
i=0; while [ $i -lt 30 ] && ours "$p"; do nap; i=$((i+1)); done
if ours "$p"; then kill "$p" 2>/dev/null; say "killed $p"; fi
say out
[ -f "$D/out" ] && while IFS= read -r ln || [ -n "$ln" ]; do printf '| %s\\n' "$ln"; done < "$D/out"
rm -rf -- "$D"
if [ -e "$D" ]; then say "cleanup left $D"; else say "cleanup ok"; fi`;

/** The collect probe: stops the sampler, prints what it saw, removes its directory. */
export function samplerCollectScript(seams: SamplerSeams = {}): string {
  return [COMMON, `NAME=${quote(SAMPLER_NAME)}; D=${quote(dirOf(seams))}`, COLLECT, ''].join('\n');
}
