// The throughput probe's shell script (issue #15, item 2): one POSIX sh script per client mount,
// run by the engine during fact gathering (a task probe with its own time limit). It checks the
// mount (in the mount table, cifs, with rdma) and the share's free space; under --check it stops
// there. Otherwise it writes then reads one uniquely named file with direct I/O through the RDMA
// mount, then does the same through a temporary TCP mount of the same share (same credentials
// file, no rdma, nosharesock) under a private directory in /run, and prints what it measured as
// lines src/smb/probe.ts reads. Whatever happens (a failed step, SIGINT/TERM/HUP, the time limit,
// the ssh session gone because the controller was interrupted) its EXIT trap stops a running
// transfer, removes its files, unmounts the TCP mount (lazily when busy) and removes its
// directory, then prints "cleanup ok" or "cleanup left ...".
// Each transfer is framed by two empty marker files in the share, .smbdirect-probe.ID.PHASE.start
// and .end (PHASE rdma-write, rdma-read, tcp-write, tcp-read; made through the RDMA mount, removed by
// the same trap): the server's sampler (src/smb/probe-sampler.ts) reads its own CPU when it sees
// them, so no clock is shared between the hosts. The start marker holds "CLIENT MOUNT-POINT".
//
// Lines (each on its own line; "| TEXT" lines belong to the header above them):
//   probe 1 run|check          mount rdma             free AVAIL_MIB NEED_MIB
//   tool dd|fio                hz CLK_TCK             checked (--check: nothing written)
//   id ID                      the probe's name in the share (markers, server CPU)
//   cpu LABEL start|end USER NICE SYSTEM IRQ SOFTIRQ   (/proc/stat, host-wide jiffies)
//   out LABEL RC / err LABEL   the transfer's stdout / stderr, as "| " lines
//   fail CODE [DETAIL]         a refusal or failure (the parser words it)
//   signal INT|TERM|HUP        done                   cleanup ok | cleanup left PATH...
// LABEL is "rdma write", "rdma read", "tcp write" or "tcp read".
import { quote } from '../quote.js';
import { fstabEscape } from './fstab.js';

export type ProbeTool = 'auto' | 'fio' | 'dd';

/**
 * Written to the kernel log just before the temporary TCP mount, so that verify does not take
 * that mount's "CIFS: Attempting to mount //ADDR/SHARE" line (the same source as the RDMA mount)
 * for a remount of the RDMA mount that never reached "RDMA transport established".
 */
export const PROBE_KMSG = 'smbdirect-provision: probe: temporary TCP mount of';

/** Space kept free on the share beyond the probe's two files (MiB). */
export const PROBE_MARGIN_MIB = 64;

export interface ProbeTarget {
  /** The RDMA mount point (smb_mounts[].path). */
  path: string;
  /** "//ADDR/SHARE", as the RDMA mount has it. */
  source: string;
  /** The temporary TCP mount's options (vers=, credentials=FILE, the user's); never a secret. */
  tcpOptions: string[];
  sizeMiB: number;
  tool: ProbeTool;
  check: boolean;
  /** The client's inventory name, written into the start markers for the server's report. */
  client?: string;
}

/**
 * Test seams, the defaults being what a host runs: the mount table the RDMA mount is looked up in,
 * the command that mounts the share over TCP on "$W/mnt" (shell text, built with src/quote.ts),
 * where the private directory is made, and where the mark before the TCP mount is written.
 */
export interface ProbeSeams {
  mountTable?: string;
  tcpMount?: string;
  workBase?: string;
  /** Where the mark before the TCP mount goes (the kernel log). */
  kmsg?: string;
}

/** Free space the probe asks for on the share (MiB): both files plus a margin. */
export const probeNeedMiB = (sizeMiB: number): number => sizeMiB * 2 + PROBE_MARGIN_MIB;

/** Seconds the probe may run: a minute, plus its four transfers at 2 MiB/s. */
export const probeTimeoutS = (sizeMiB: number): number => 60 + sizeMiB * 2;

const HELPERS = String.raw`LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH
W=; PID=; XF=; LAST=; F1=; F2=; N=
say() { printf '%s\n' "$*"; }
# to SECONDS CMD...: CMD, sent TERM after SECONDS and KILL 2 s later (a statfs stuck on a dead server waits killably).
to() { s=$1; shift; if command -v timeout >/dev/null 2>&1; then timeout -k 2 "$s" "$@"; else "$@"; fi; }
# dump HEADER FILE: HEADER, then FILE's lines as "| LINE".
dump() { say "$1"; [ -f "$2" ] || return 0; while IFS= read -r ln || [ -n "$ln" ]; do printf '| %s\n' "$ln"; done < "$2"; }
fail() { say "fail $*"; exit 3; }
# Is the private TCP mount point mounted? (the real table: the TCP mount is always real)
tcp_mounted() { [ -n "$W" ] || return 1; while read -r d m r; do [ "$m" = "$W/mnt" ] && return 0; done < /proc/mounts; return 1; }
cleanup() {
  rc=$?
  trap '' HUP INT TERM PIPE
  # A signal handled between the transfer's "&" and "PID=$!" (the shell runs traps between
  # commands): $! has moved past LAST, so the transfer started and is stopped here too.
  if [ -z "$PID" ] && [ -n "$XF" ] && [ "$!" != "$LAST" ]; then PID=$!; fi
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  left=
  for f in "$F1" "$F2"; do
    [ -n "$f" ] || continue
    rm -f -- "$f" 2>/dev/null; { [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"
  done
  if [ -n "$N" ]; then
    for ph in rdma-write rdma-read tcp-write tcp-read; do for e in start end; do
      f=$MNT/$N.$ph.$e; [ -e "$f" ] || continue; rm -f -- "$f" 2>/dev/null; [ -e "$f" ] && left="$left $f"
    done; done
  fi
  if tcp_mounted; then to 20 umount -- "$W/mnt" 2>/dev/null || umount -l -- "$W/mnt" 2>/dev/null || left="$left $W/mnt(mounted)"; fi
  if [ -n "$W" ]; then
    rm -f -- "$W/out" "$W/err"; rmdir -- "$W/mnt" 2>/dev/null
    rmdir -- "$W" 2>/dev/null || left="$left $W"
  fi
  if [ -n "$left" ]; then say "cleanup left$left"; else say "cleanup ok"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "signal INT"; exit 130' INT
trap 'say "signal TERM"; exit 143' TERM
trap 'say "signal HUP"; exit 129' HUP
trap 'exit 141' PIPE
# cpu LABEL: the host's CPU jiffies (user nice system irq softirq) from /proc/stat.
cpu() { read -r c u n s i w q sq rest < /proc/stat; say "cpu $1 $u $n $s $q $sq"; }
# The ssh session the probe runs under: its nearest sshd ancestor (through sudo and the facts
# script). The probe's output is captured by the facts script, so a controller that went away
# (interrupted) is never seen as a failed write: when that process is gone, the probe stops and
# cleans up at once instead of running its transfers to the end.
SESS=; p=$PPID; i=0
while [ -n "$p" ] && [ "$p" -gt 1 ] && [ $i -lt 30 ]; do
  c=; read -r c 2>/dev/null < "/proc/$p/comm"
  case $c in sshd*) SESS=$p; break;; esac
  q=; while read -r k v; do [ "$k" = PPid: ] && q=$v; done 2>/dev/null < "/proc/$p/status"
  p=$q; i=$((i+1))
done
# mark LABEL start|end: the phase's marker in the share, for the server's sampler (best effort:
# a marker that cannot be made costs only the server's figure).
mark() { case $1 in 'rdma write') ph=rdma-write;; 'rdma read') ph=rdma-read;; 'tcp write') ph=tcp-write;; *) ph=tcp-read;; esac; if [ "$2" = start ]; then printf '%s %s\n' "$CLIENT" "$MNT"; fi 2>/dev/null > "$MNT/$N.$ph.$2"; }
# xfer LABEL COMMAND...: in the background, watched every second (a signal or the session's end
# stops it; the EXIT trap removes what it wrote).
xfer() {
  l=$1; shift
  mark "$l" start
  cpu "$l start"
  LAST=$!; XF=1
  "$@" >"$W/out" 2>"$W/err" &
  PID=$!
  while kill -0 "$PID" 2>/dev/null; do
    if [ -n "$SESS" ] && [ ! -d "/proc/$SESS" ]; then say "signal HUP"; exit 129; fi
    sleep 1
  done
  wait "$PID"; rc=$?; PID=; XF=
  cpu "$l end"
  mark "$l" end
  dump "out $l $rc" "$W/out"; dump "err $l" "$W/err"
  [ "$rc" = 0 ] || fail xfer "$l" "$rc"
}
# write LABEL FILE / read LABEL FILE, with direct I/O.
write() {
  if [ "$T" = fio ]; then xfer "$1" fio --name=smbdirect-probe --filename="$2" --rw=write --bs=1M --size="$SIZE"M --direct=1 --ioengine=psync --output-format=json
  else xfer "$1" dd if=/dev/zero of="$2" bs=1M count="$SIZE" oflag=direct; fi
}
read_() {
  if [ "$T" = fio ]; then xfer "$1" fio --name=smbdirect-probe --filename="$2" --rw=read --bs=1M --size="$SIZE"M --direct=1 --ioengine=psync --output-format=json
  else xfer "$1" dd if="$2" of=/dev/null bs=1M iflag=direct; fi
}
# fresh FILE: refuses a name that exists (the probe never touches other data).
fresh() { if [ -e "$1" ] || [ -L "$1" ]; then fail exists "$1"; fi; }`;

const STEPS = String.raw`say "probe 1 $MODE"
# The RDMA mount: the last entry for the mount point (the one on top), cifs, with rdma.
fs=; op=
while read -r d m f o r; do [ "$m" = "$ESC" ] && { fs=$f; op=$o; }; done < "$MT"
[ -n "$fs" ] || fail not-mounted
case $fs in cifs|smb3) ;; *) fail not-cifs "$fs";; esac
case ",$op," in *,rdma,*) say "mount rdma";; *) fail no-rdma;; esac
# Free space, bounded: a share whose server died blocks every statfs.
d=$(to 10 df -P -B1M -- "$MNT" 2>&1) || { rc=$?; say "err df"; printf '%s\n' "$d" | while IFS= read -r ln; do printf '| %s\n' "$ln"; done; fail df "$rc"; }
av=; while read -r a b c e rest; do av=$e; done <<EOF_DF
$d
EOF_DF
say "free $av $NEED"
[ "$av" -ge "$NEED" ] 2>/dev/null || fail space "$av" "$NEED"
T=dd
case $TOOL in
  fio) command -v fio >/dev/null 2>&1 || fail no-fio; T=fio;;
  auto) case $MNT in *:*) ;; *) command -v fio >/dev/null 2>&1 && T=fio;; esac;;
esac
say "tool $T"
say "hz $(getconf CLK_TCK 2>/dev/null || echo 100)"
[ "$MODE" = run ] || { say checked; exit 0; }
W=$(mktemp -d "$BASE/smbdirect-probe.XXXXXX") || fail mktemp
mkdir -- "$W/mnt" || fail mktemp
I=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
for ph in rdma-write rdma-read tcp-write tcp-read; do fresh "$MNT/.smbdirect-probe.$I.$ph.start"; fresh "$MNT/.smbdirect-probe.$I.$ph.end"; done
N=.smbdirect-probe.$I
say "id $I"
fresh "$MNT/$N.rdma"; F1=$MNT/$N.rdma
write "rdma write" "$F1"
read_ "rdma read" "$F1"
rm -f -- "$F1" && F1=
printf '<5>%s %s\n' "$KMSG" "$SRC" 2>/dev/null > "$KLOG"
( TCPMOUNT ) >"$W/err" 2>&1 || { rc=$?; dump "err tcp mount" "$W/err"; fail tcp-mount "$rc"; }
fresh "$W/mnt/$N.tcp"; F2=$W/mnt/$N.tcp
write "tcp write" "$F2"
read_ "tcp read" "$F2"
rm -f -- "$F2" && F2=
# Time for the server's sampler (it looks every 0.1 s, slower when busy) to see the last marker before the trap removes it.
sleep 1
say done`;

/** The probe script for one mount (sh). Every value reaches it through src/quote.ts. */
export function probeScript(t: ProbeTarget, seams: ProbeSeams = {}): string {
  if (!Number.isInteger(t.sizeMiB) || t.sizeMiB <= 0) throw new Error(`probe size must be a positive whole number of MiB, found ${t.sizeMiB}`);
  if (t.tcpOptions.some((o) => o.includes(',') || o === 'rdma')) throw new Error(`bad TCP mount options ${JSON.stringify(t.tcpOptions)}`);
  const tcpMount = seams.tcpMount ?? `mount -t cifs -o ${quote(t.tcpOptions.join(','))} ${quote(t.source)} "$W/mnt"`;
  const vars = [
    `MNT=${quote(t.path)}`, `ESC=${quote(fstabEscape(t.path))}`, `MT=${quote(seams.mountTable ?? '/proc/mounts')}`,
    `SIZE=${t.sizeMiB}`, `NEED=${probeNeedMiB(t.sizeMiB)}`, `TOOL=${quote(t.tool)}`, `MODE=${t.check ? 'check' : 'run'}`,
    `BASE=${quote(seams.workBase ?? '/run')}`, `CLIENT=${quote(t.client ?? '-')}`, `SRC=${quote(t.source)}`, `KMSG=${quote(PROBE_KMSG)}`, `KLOG=${quote(seams.kmsg ?? '/dev/kmsg')}`,
  ];
  return [HELPERS, vars.join('; '), STEPS.replace('TCPMOUNT', tcpMount), ''].join('\n');
}

/** The TCP mount's options: the RDMA mount's own minus rdma and the fstab-only ones, plus nosharesock. */
export function tcpOptions(managed: string[]): string[] {
  return [...managed.filter((o) => !['rdma', '_netdev', 'nofail'].includes(o)), 'nosharesock'];
}
