// Everything a plan may look at, gathered in ONE round trip: factsScript() builds a single POSIX
// sh script (files to read, probes to run, system facts), parseFacts() reads its output back.
//
// Output format: every section starts on its own line "@@smbdirect@@ NONCE NAME" preceded by a
// newline (so a section whose text lacks a final newline still ends cleanly). NONCE is drawn from
// the kernel (a random UUID; /dev/urandom without it) when the script starts and printed first
// ("... NONCE begin"), so no text the host prints (dmesg, file names, process names) can fake a
// section. File contents and probe output travel as they are (sections are cut at markers, file
// contents by their stat sizes). The last section is "end": without it the output was cut short.
//
// The script is read-only: it writes nothing but /dev/null, and commands that would load kernel
// modules as a side effect (rdma, nft, iptables) run only when those modules are already there.
// The one exception is a task's probe that says so: the throughput probe (src/smb/probe-script.ts)
// writes its own files and a temporary mount and removes them; under --check it only looks.
// stdin is /dev/null for everything inside (so no command can eat the rest of the script, which
// arrives on stdin), stderr is discarded, and every probe runs in its own `sh -c` under a timeout.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { quote } from '../quote.js';
import type { Facts, FileState, KconfigRead, ProbeCommand, ProbeResult } from '../types.js';
import { MARK, Sections, type Fact } from './fact.js';
import { distro, type DistroFacts } from './distro.js';
import { dmesg, type DmesgFacts } from './dmesg.js';
import { evidence, type CifsEvidence } from './evidence.js';
import { firewall, type FirewallFacts } from './firewall.js';
import { host, type HostFacts } from './host.js';
import { kconfig, type KconfigFacts } from './kconfig.js';
import { kernel, type KernelFacts } from './kernel.js';
import { modules, type ModulesFacts } from './modules.js';
import { mounts, type CifsMount } from './mounts.js';
import { net, type NetFacts } from './net.js';
import { packages, type PackagesFacts } from './packages.js';
import { ports, type PortsFacts } from './ports.js';
import { rdma, type RdmaFacts } from './rdma.js';
import { security, type SecurityFacts } from './security.js';
import { services, type ServicesFacts } from './services.js';

export { kernelAtLeast } from './kernel.js';
export { kconfigEnabled, KCONFIG_SYMBOLS } from './kconfig.js';
export { netdevForAddress } from './net.js';
export { dependsOnRdma, MODULE_NAMES } from './modules.js';
export type * from './distro.js';
export type * from './dmesg.js';
export type * from './evidence.js';
export type * from './firewall.js';
export type * from './host.js';
export type * from './kconfig.js';
export type * from './kernel.js';
export type * from './modules.js';
export type * from './mounts.js';
export type * from './net.js';
export type * from './packages.js';
export type * from './ports.js';
export type * from './rdma.js';
export type * from './security.js';
export type * from './services.js';

/** Facts.system after a run with system facts (the default). */
export interface SystemFacts {
  kernel: KernelFacts;
  kconfig: KconfigFacts;
  /** SMB Direct evidence from the running cifs client (/proc/fs/cifs). */
  evidence: CifsEvidence;
  modules: ModulesFacts;
  security: SecurityFacts;
  rdma: RdmaFacts;
  net: NetFacts;
  distro: DistroFacts;
  packages: PackagesFacts;
  services: ServicesFacts;
  ports: PortsFacts;
  mounts: CifsMount[];
  dmesg: DmesgFacts;
  firewall: FirewallFacts;
  host: HostFacts;
}

const SYSTEM: { [K in keyof SystemFacts]: Fact<SystemFacts[K]> } = {
  kernel, kconfig, evidence, modules, security, rdma, net, distro, packages, services, ports, mounts, dmesg, firewall, host,
};

/** Seconds a cifs mount's statfs may take before the mount counts as not answering (its server dead). */
export const MOUNT_ANSWER_S = 5;
/** Files larger than this are reported (exists, mode, owner) without content. */
export const MAX_READ_BYTES = 1024 * 1024;
/** Seconds a probe or a slow system command may run before `timeout` stops it (exit code 124). */
export const COMMAND_TIMEOUT_S = 20;

export interface FactsRequest {
  /** What the controller kept of the kernel config: the host sends it again only after a reboot. */
  kconfig?: KconfigRead;
  /**
   * Absolute paths whose state (and content, for regular files up to 1 MiB) is wanted. A path
   * ending in "/" also lists the directory's entries (FileState.entries).
   */
  reads: string[];
  /** Read-only shell commands by name (a script, or one with its own time limit); each gives its stdout and exit code. */
  probes: Record<string, ProbeCommand>;
}

/** The facts output was not what factsScript() prints (wrong command, cut short, mismatched request). */
export class FactsError extends Error {
  override name = 'FactsError';
}

const PREAMBLE = `LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH
# Builtins over processes wherever it is cheap: each exec costs 5-15 ms of CPU on a busy host.
# rl FILE: the first line of FILE into RL (fails when it cannot be read or is empty).
rl() { RL=; IFS= read -r RL < "$1" || [ -n "$RL" ]; }
rl /proc/sys/kernel/random/uuid; N=$RL
[ -n "$N" ] || N=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n'); [ -n "$N" ] || N="$$"
# The running kernel's release, for the sections that look under /boot and /lib/modules.
rl /proc/sys/kernel/osrelease && KR=$RL || KR=$(uname -r)
# bt: the boot time line of /proc/stat ("btime SECONDS"), for the sections that judge times.
bt() { while read -r k v _; do [ "$k" = btime ] && echo "btime $v" && break; done < /proc/stat; }
sec() { printf '\\n${MARK} %s %s\\n' "$N" "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }
NL='
'
TAB='\t'
t() { if have timeout; then timeout ${COMMAND_TIMEOUT_S} "$@"; else "$@"; fi; }
# Shares that do not answer (#16): under a cifs share whose server died, every stat blocks in the
# kernel for as long as the server stays away. statfs of every cifs/smb3 entry of the table runs
# at once in the background, each given ${MOUNT_ANSWER_S} s; one still blocked then gets SIGKILL (cifs
# waits are killable) and is never waited for; one that failed at once (EHOSTDOWN: the server
# refuses) counts too. Their directories go in NR: no later stat, read or listing touches a path
# at or under one. MT: the table (a test points it at a file of its own).
NR=
MT=/proc/mounts
nr() {
  L=
  while read -r d m f o r; do
    case $f in cifs|smb3) ;; *) continue;; esac
    p=$m; case $p in *\\\\*) p=$(printf '%s' "$p" | sed 's/\\\\\\([0-7]\\)/\\\\0\\1/g'); p=$(printf '%b' "$p");; esac
    stat -f -- "$p" >/dev/null 2>&1 &
    L="$L$! $m$NL"
  done < "$MT"
  [ -n "$L" ] || return 0
  i=0
  while [ $i -lt ${MOUNT_ANSWER_S * 50} ]; do
    w=; while read -r p m; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { w=1; break; }; done <<EOF_NR
$L
EOF_NR
    [ -n "$w" ] || break
    sleep 0.02 2>/dev/null || sleep 1; i=$((i + 1))
  done
  while read -r p m; do
    [ -n "$p" ] || continue
    if kill -0 "$p" 2>/dev/null; then kill -9 "$p" 2>/dev/null; printf 'hung %s\\n' "$m"
    elif wait "$p"; then continue; else printf 'failed %s\\n' "$m"; fi
    case $m in *\\\\*) m=$(printf '%s' "$m" | sed 's/\\\\\\([0-7]\\)/\\\\0\\1/g'); m=$(printf '%b' "$m");; esac
    NR="$NR$m$NL"
  done <<EOF_NR
$L
EOF_NR
}
# un PATH: true when PATH is at or under a directory in NR (that directory in UN).
un() {
  [ -n "$NR" ] || return 1
  while IFS= read -r UN; do [ -n "$UN" ] || continue; case $1 in "$UN"|"$UN"/*) return 0;; esac; done <<EOF_NR
$NR
EOF_NR
  return 1
}
rds() {
  # One stat for all the paths (names last, to check the pairing below), then per path its state
  # and, for a readable regular file up to the limit, a place in one content stream: a handful of
  # processes for any number of files. A path whose line does not pair (created or removed
  # meanwhile, or a newline in its name) gets its own stat.
  if [ -z "$NR" ]; then st=$(stat -L -c '%a %U %G %u %g %s %n' -- "$@")
  else st=; for p; do un "$p" || { s=$(stat -L -c '%a %U %G %u %g %s %n' -- "$p") && st="$st$s$NL"; }; done; fi
  n=$#
  i=0
  for p; do
    sec "file.$i"; i=$((i + 1))
    if un "$p"; then printf 'unanswered %s\\n' "$UN"; continue; fi
    [ -e "$p" ] || { echo missing; continue; }
    echo exists; [ -d "$p" ] && echo dir
    # A path ending in "/" asks for the directory's entries too (names with a newline are left out).
    case $p in */) for e in "$p"* "$p".[!.]* "$p"..?*; do
      un "$e" || [ -e "$e" ] || [ -L "$e" ] || continue
      case \${e##*/} in *"$NL"*) ;; *) printf 'entry %s\\n' "\${e##*/}";; esac
    done;; esac
    IFS= read -r s || s=
    m=\${s#* }; m=\${m#* }; m=\${m#* }; m=\${m#* }; m=\${m#* }; m=\${m#* }
    [ "$m" = "$p" ] || s=$(stat -L -c '%a %U %G %u %g %s %n' -- "$p")
    s=\${s%" $p"}
    [ -n "$s" ] && echo "stat $s"
    [ -f "$p" ] && [ -r "$p" ] && [ -n "$s" ] || continue
    [ "\${s##* }" -le ${MAX_READ_BYTES} ] || { echo toolarge; continue; }
    # The loop's word list was expanded when it began: the "blob" files go after the paths (as
    # arguments, so any name, newlines included, reaches cat whole).
    echo blob; set -- "$@" "$p"
  done <<EOF_STAT
$st
EOF_STAT
  shift "$n"
  # The contents of every "blob" file, in order, as they are (no base64: no process, a third less
  # to send): the reader splits them by the sizes in the stat lines, and refuses them if a file
  # changed size meanwhile. No text can end the section early: markers carry the nonce.
  sec files.raw
  [ $# -eq 0 ] || cat -- "$@"
}
pr() {
  sec "probe.$1"
  # A third argument: the probe's own time limit in seconds.
  if [ -n "$3" ] && have timeout; then o=$(timeout "$3" sh -c "$2"; printf '.%s' "$?"); else o=$(t sh -c "$2"; printf '.%s' "$?"); fi
  # The exit code, then the output as it is, up to the next marker (which no output can fake).
  echo "\${o##*.}"
  printf '%s' "\${o%.*}"
}
sec begin
sec mounts.answer
nr`;

/**
 * The script's output leaves in one write instead of one per printf: sshd sends what it reads from
 * the pipe as it comes, so ~50-80 SSH packets per gather (a few hundred bytes each), each one
 * encrypted by sshd and decrypted and handled on its own by the controller (~4 ms of the
 * controller's CPU per host with ssh2, #14). dd gathers full blocks (up to 1 MiB) until the end;
 * where dd cannot (missing, or without iflag=fullblock: busybox's older ones) it fails before
 * reading anything, and cat passes the output on as before.
 */
const COALESCE = '{ dd bs=1048576 iflag=fullblock 2>/dev/null || cat; }';

/** The one script that gathers every requested fact. Never fails as a whole; changes nothing. */
export function factsScript(opts: FactsRequest & { system?: boolean }): string {
  const reads = opts.reads.length ? [`rds ${opts.reads.map((path) => quote(checkPath(path))).join(' ')}`] : [];
  const probes = probeNames(opts.probes).map((name, i) => `pr ${i} ${probeArgs(name, opts.probes[name]!)}`);
  const known = opts.kconfig ? `KC=${quote(`${opts.kconfig.bootId} ${opts.kconfig.source}`)}` : 'KC=';
  const system = opts.system === false ? [] : [known, ...Object.values(SYSTEM).map((f) => f.script)];
  return ['{', PREAMBLE, ...reads, ...probes, ...system, 'sec end', `} </dev/null 2>/dev/null | ${COALESCE}`, 'exit 0', ''].join('\n');
}

/** Reads factsScript()'s stdout back; `opts` must be the request the script was built from. */
export function parseFacts(stdout: string | Buffer, opts: FactsRequest): Facts {
  const split = splitSections(typeof stdout === 'string' ? Buffer.from(stdout, 'utf8') : stdout);
  const kconfigRead = useKconfigCache(split.texts, opts.kconfig);
  const s = new Sections(split.texts);
  const files: Record<string, FileState> = {};
  // Older captures carry the contents as base64 ("files.blob").
  const blob = new ContentStream(split.raw ?? Buffer.from(s.raw('files.blob') ?? '', 'base64'));
  opts.reads.forEach((path, i) => (files[path] = fileState(s, i, path, blob)));
  blob.finish();
  const probes: Record<string, ProbeResult> = {};
  probeNames(opts.probes).forEach((name, i) => (probes[name] = probe(s, i, name)));
  return { system: s.has('kernel') ? parseSystem(s) : {}, files, probes, ...(kconfigRead ? { kconfigRead } : {}) };
}

/**
 * "cached BOOT SOURCE" in the kconfig section stands for the text the request brought; a fresh
 * read with a boot id is returned for the controller to keep.
 */
function useKconfigCache(texts: Map<string, string>, known: KconfigRead | undefined): KconfigRead | undefined {
  const text = texts.get('kconfig');
  if (text === undefined) return undefined;
  const cached = /^cached (\S+) (.+)$/.exec(text.trim());
  if (cached) {
    if (!known || known.bootId !== cached[1] || known.source !== cached[2]) throw new FactsError('the host answered "kernel config as before" for a boot the controller did not ask about: run again');
    texts.set('kconfig', known.text);
    return undefined;
  }
  const source = /^source (.+)$/m.exec(text)?.[1];
  const boot = /^boot (\S+)$/m.exec(text)?.[1];
  return source && source !== 'none' && boot ? { bootId: boot, source, text } : undefined;
}

/** Facts.system typed; throws when the facts were gathered without system facts. */
export function systemOf(facts: Facts): SystemFacts {
  if (!('kernel' in facts.system)) throw new FactsError('these facts were gathered without system facts');
  return facts.system as unknown as SystemFacts;
}

function parseSystem(s: Sections): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, fact] of Object.entries(SYSTEM)) out[key] = fact.parse(s);
  return out;
}

/** Probe sections are numbered in sorted name order, so key order never matters. */
function probeNames(probes: Record<string, unknown>): string[] {
  return Object.keys(probes).sort();
}

function checkPath(path: string): string {
  if (!path.startsWith('/')) throw new FactsError(`reads: "${path}" is not an absolute path`);
  return path;
}

function checkProbe(name: string, cmd: string): string {
  if (cmd.trim() === '') throw new FactsError(`probe "${name}" has an empty command`);
  return cmd;
}

/** `pr`'s arguments after the index: the script, then its time limit when it has its own. */
function probeArgs(name: string, p: ProbeCommand): string {
  if (typeof p === 'string') return quote(checkProbe(name, p));
  if (!Number.isInteger(p.timeoutS) || p.timeoutS <= 0) throw new FactsError(`probe "${name}": timeoutS must be a positive integer, found ${p.timeoutS}`);
  return `${quote(checkProbe(name, p.script))} ${p.timeoutS}`;
}

/**
 * The sections by name, each decoded as UTF-8, and "files.raw" as bytes. The output is split as
 * latin1 text (one character per byte), so byte offsets survive for the raw contents.
 */
function splitSections(bytes: Buffer): { texts: Map<string, string>; raw?: Buffer } {
  const stdout = bytes.toString('latin1');
  const begin = new RegExp(`(?:^|\\n)${MARK} (\\S+) begin\\n`).exec(stdout);
  if (!begin) throw new FactsError(`not facts output (no begin marker): ${JSON.stringify(bytes.subarray(0, 200).toString('utf8'))}`);
  const texts = new Map<string, string>();
  let raw: Buffer | undefined;
  const parts = stdout.slice(begin.index + begin[0].length).split(`\n${MARK} ${begin[1]} `).slice(1);
  for (const part of parts) {
    const nl = part.indexOf('\n');
    const name = nl < 0 ? part : part.slice(0, nl);
    const body = Buffer.from(nl < 0 ? '' : part.slice(nl + 1), 'latin1');
    if (name === 'files.raw') raw = body;
    texts.set(name, name === 'files.raw' ? '' : body.toString('utf8'));
  }
  if (!texts.has('end')) throw new FactsError('facts output was cut short (no end marker): timeout or lost connection?');
  return { texts, raw };
}

function section(s: Sections, name: string, what: string): Map<string, string> {
  if (!s.has(name)) throw new FactsError(`facts output has no section for ${what}: built from a different request?`);
  return s.keyed(name);
}

function fileState(s: Sections, i: number, path: string, blob: ContentStream): FileState {
  const k = section(s, `file.${i}`, `read ${path}`);
  // At or under a cifs mount whose server does not answer: not touched, so not known (a mount point is a directory).
  const unanswered = k.get('unanswered');
  if (unanswered !== undefined) return { path, exists: true, isDir: path === unanswered || path === `${unanswered}/`, unanswered };
  if (!k.has('exists')) return { path, exists: false };
  const f: FileState = { path, exists: true, isDir: k.has('dir') };
  if (path.endsWith('/')) f.entries = (s.raw(`file.${i}`) ?? '').split('\n').filter((l) => l.startsWith('entry ')).map((l) => l.slice('entry '.length)).sort();
  // "MODE USER GROUP UID GID SIZE"; older captures lack the ids.
  const st = /^([0-7]+) (\S+) (\S+) (?:(\d+) (\d+) )?(\d+)$/.exec(k.get('stat') ?? '');
  if (st) Object.assign(f, { mode: st[1]!.padStart(4, '0'), owner: st[2], group: st[3] }, st[4] !== undefined ? { uid: st[4], gid: st[5] } : {});
  if (k.has('blob')) {
    const bytes = blob.take(path, st ? Number(st[6]) : Number.NaN);
    f.content = bytes.toString('utf8');
    f.sha256 = createHash('sha256').update(bytes).digest('hex');
    return f;
  }
  // Older captures (test fixtures) carry each file's content as base64 in a section of its own.
  const b64 = s.raw(`file.${i}.content`);
  const bytes = b64 === undefined ? undefined : Buffer.from(b64, 'base64');
  if (bytes && bytes.length <= MAX_READ_BYTES) Object.assign(f, { content: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') });
  return f;
}

/** The one content stream of the "blob" files, handed out in order by the sizes stat reported. */
class ContentStream {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  take(path: string, size: number): Buffer {
    if (!Number.isInteger(size) || this.at + size > this.bytes.length) throw new FactsError(`${path} changed while its facts were read (size ${size}): run again`);
    this.at += size;
    return this.bytes.subarray(this.at - size, this.at);
  }
  finish(): void {
    if (this.at !== this.bytes.length) throw new FactsError('a managed file changed while facts were read (contents longer than their sizes): run again');
  }
}

function probe(s: Sections, i: number, name: string): ProbeResult {
  section(s, `probe.${i}`, `probe ${name}`);
  const raw = s.raw(`probe.${i}`) ?? '';
  const nl = raw.indexOf('\n');
  const n = Number.parseInt(nl < 0 ? raw : raw.slice(0, nl), 10);
  return { code: Number.isNaN(n) ? -1 : n, stdout: nl < 0 ? '' : raw.slice(nl + 1) };
}
