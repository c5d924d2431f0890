// The throughput probe's output read back (src/smb/probe-script.ts prints it): the rates of dd
// and fio, the client's CPU time, and what went wrong, in words a user can act on.
import type { ProbeMeasure, ProbeResult, ProbeTransfer } from '../types.js';
import { PROBE_MARGIN_MIB, type ProbeTool } from './probe-script.js';

export const LABELS = ['rdma write', 'rdma read', 'tcp write', 'tcp read'] as const;
export type Label = (typeof LABELS)[number];

/** One header line of the output and the "| " lines under it. */
interface Block {
  head: string;
  lines: string[];
}

export interface ProbeOutput {
  mode?: 'run' | 'check';
  rdma: boolean;
  free?: { availMiB: number; needMiB: number };
  tool?: 'dd' | 'fio';
  /** The probe's name in the share: its markers' ID (the server's sampler reports by it). */
  id?: string;
  hz: number;
  /** Per transfer: exit code, stdout and stderr lines, CPU jiffies spent. */
  transfers: Partial<Record<Label, { rc: number; out: string[]; err: string[]; jiffies?: number }>>;
  /** "fail CODE ..." split in words, and the "| " lines of the block before it. */
  fail?: { words: string[]; lines: string[] };
  signal?: string;
  checked: boolean;
  done: boolean;
  /** "ok", or what was left behind; absent when the script never got to clean up. */
  cleanup?: string;
}

function blocks(stdout: string): Block[] {
  const out: Block[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('| ') || line === '|') out.at(-1)?.lines.push(line.slice(2));
    else if (line !== '') out.push({ head: line, lines: [] });
  }
  return out;
}

const labelOf = (words: string[]): Label | undefined => LABELS.find((l) => l === `${words[1]} ${words[2]}`);

/** Reads the probe script's stdout. */
export function parseProbeOutput(stdout: string): ProbeOutput {
  const o: ProbeOutput = { rdma: false, hz: 100, transfers: {}, checked: false, done: false };
  const cpu = new Map<string, number>();
  let last: Block | undefined;
  for (const b of blocks(stdout)) {
    const w = b.head.split(' ');
    const label = labelOf(w);
    if (w[0] === 'probe') o.mode = w[2] === 'check' ? 'check' : 'run';
    else if (b.head === 'mount rdma') o.rdma = true;
    else if (w[0] === 'free') o.free = { availMiB: Number(w[1]), needMiB: Number(w[2]) };
    else if (w[0] === 'tool' && (w[1] === 'dd' || w[1] === 'fio')) o.tool = w[1];
    else if (w[0] === 'hz' && Number(w[1]) > 0) o.hz = Number(w[1]);
    else if (w[0] === 'id' && /^[0-9a-f]+$/.test(w[1] ?? '')) o.id = w[1];
    else if (w[0] === 'cpu' && label) cpuLine(o, cpu, label, w.slice(3));
    else if (w[0] === 'out' && label) o.transfers[label] = { ...o.transfers[label], rc: Number(w[3]), out: b.lines, err: [] };
    else if (w[0] === 'err' && label && o.transfers[label]) o.transfers[label]!.err = b.lines;
    else if (w[0] === 'fail') o.fail = { words: w.slice(1), lines: last?.head.startsWith('err ') ? last.lines : [] };
    else if (w[0] === 'signal') o.signal = w[1];
    else if (b.head === 'checked') o.checked = true;
    else if (b.head === 'done') o.done = true;
    else if (w[0] === 'cleanup') o.cleanup = w[1] === 'ok' ? 'ok' : w.slice(2).join(' ');
    last = b;
  }
  return o;
}

/** "cpu LABEL start|end USER NICE SYSTEM IRQ SOFTIRQ": the busy jiffies between start and end. */
function cpuLine(o: ProbeOutput, seen: Map<string, number>, label: Label, w: string[]): void {
  const busy = w.slice(1).reduce((a, v) => a + (Number(v) || 0), 0);
  // Begun (rc -1 until its "out" line): where an interrupted probe was.
  o.transfers[label] ??= { rc: -1, out: [], err: [] };
  if (w[0] === 'start') seen.set(label, busy);
  const start = seen.get(label);
  if (w[0] === 'end' && start !== undefined) o.transfers[label]!.jiffies = busy - start;
}

/** dd's summary line (GNU: "N bytes (...) copied, S s, R MB/s"; busybox: "... S seconds, ..."): MB/s. */
export function ddRate(stderr: string[]): number | undefined {
  for (const l of stderr) {
    const m = /^(\d+) bytes\b.*\bcopied, ([0-9.]+(?:e[-+]?\d+)?) s(?:econds)?\b/.exec(l);
    if (m && Number(m[2]) > 0) return Number(m[1]) / Number(m[2]) / 1e6;
  }
  return undefined;
}

/** fio's JSON (--output-format=json): the first job's bandwidth in `op`, MB/s. */
export function fioRate(stdout: string[], op: 'read' | 'write'): number | undefined {
  const text = stdout.join('\n');
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  try {
    const j = JSON.parse(text.slice(start)) as { jobs?: Array<Record<string, { bw_bytes?: number }>> };
    const bw = j.jobs?.[0]?.[op]?.bw_bytes;
    return typeof bw === 'number' && bw > 0 ? bw / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

function rate(o: ProbeOutput, label: Label): number | undefined {
  const t = o.transfers[label];
  if (!t || t.rc !== 0) return undefined;
  return o.tool === 'fio' ? fioRate(t.out, label.endsWith('read') ? 'read' : 'write') : ddRate(t.err);
}

function transfer(o: ProbeOutput, via: 'rdma' | 'tcp'): ProbeTransfer | undefined {
  const [w, r] = [rate(o, `${via} write`), rate(o, `${via} read`)];
  if (w === undefined || r === undefined) return undefined;
  const j = [o.transfers[`${via} write`]?.jiffies, o.transfers[`${via} read`]?.jiffies];
  const cpu = j.every((x) => x !== undefined) ? (j[0]! + j[1]!) / o.hz : undefined;
  return { writeMBps: round(w), readMBps: round(r), ...(cpu !== undefined ? { cpuSeconds: round(cpu) } : {}) };
}

const round = (n: number): number => Math.round(n * 100) / 100;

export interface MountProbe {
  host: string;
  path: string;
  server: string;
  share: string;
  sizeMiB: number;
  tool: ProbeTool;
}

export type ProbeVerdict = { ok: true; measure: ProbeMeasure } | { ok: true; checked: string } | { ok: false; why: string };

/** What one mount's probe result says: a measure, what --check found, or why it failed. */
export function probeVerdict(m: MountProbe, r: ProbeResult | undefined, timeoutS: number): ProbeVerdict {
  if (!r) return { ok: false, why: 'the probe did not run (no result in the facts)' };
  const o = parseProbeOutput(r.stdout);
  const left = o.cleanup && o.cleanup !== 'ok' ? `; LEFT BEHIND (remove by hand): ${o.cleanup}` : '';
  const bad = failure(m, o, r.code, timeoutS);
  if (bad) return { ok: false, why: bad + left };
  if (left) return { ok: false, why: `measured, but the cleanup failed${left}` };
  if (o.checked) return { ok: true, checked: `mounted with rdma, ${o.free!.availMiB} MiB free (needs ${o.free!.needMiB}), would use ${o.tool}: check mode, nothing written` };
  const [rdma, tcp] = [transfer(o, 'rdma'), transfer(o, 'tcp')];
  if (!rdma || !tcp || tcp.readMBps <= 0) return { ok: false, why: `could not read the rates from ${o.tool}'s output: ${lastLines(Object.values(o.transfers).flatMap((t) => [...t.err, ...t.out]))}` };
  return { ok: true, measure: { host: m.host, path: m.path, server: m.server, share: m.share, sizeMiB: m.sizeMiB, tool: o.tool!, rdma, tcp, ratio: round(rdma.readMBps / tcp.readMBps), ...(o.id ? { id: o.id } : {}) } };
}

const lastLines = (lines: string[]): string => lines.filter((l) => l.trim() !== '').slice(-6).join(' / ') || '(no output)';

/** Why the probe did not measure, or undefined when it did (or checked, under --check). */
function failure(m: MountProbe, o: ProbeOutput, code: number, timeoutS: number): string | undefined {
  if (o.fail) return failText(m, o.fail.words, o.fail.lines);
  if (o.signal) return `interrupted (SIG${o.signal})${code === 124 ? ` by the probe's time limit (${timeoutS} s; lower smbdirect_probe_size_mib)` : ''}${at(o)}`;
  if (code === 124) return `stopped by the probe's time limit (${timeoutS} s; lower smbdirect_probe_size_mib)${at(o)}`;
  if (o.mode === undefined) return `the probe script did not start (exit ${code})`;
  if (!o.done && !o.checked) return `the probe script ended early (exit ${code})${at(o)}`;
  return undefined;
}

/** " during LABEL" for the last transfer begun. */
function at(o: ProbeOutput): string {
  const begun = LABELS.filter((l) => o.transfers[l]);
  return begun.length ? ` during ${begun.at(-1)}` : '';
}

function failText(m: MountProbe, w: string[], lines: string[]): string {
  const out = lines.length ? `: ${lastLines(lines)}` : '';
  switch (w[0]) {
    case 'not-mounted': return 'not mounted (nothing written: the directory below is not the share); mount it first (the client playbook)';
    case 'not-cifs': return `a ${w[1]} mount, not cifs: the probe measures only the cifs mounts of smb_mounts`;
    case 'no-rdma': return 'mounted without rdma (a TCP mount): nothing to compare; mount it with rdma (the client playbook; the verify playbook says why it is not)';
    case 'df': return `df failed (exit ${w[1]}; 124: no answer in 10 s, is the server up?)${out}`;
    case 'space': return `refused: the share has ${w[1]} MiB free, the probe needs ${w[2]} MiB (2 x ${m.sizeMiB} MiB + ${PROBE_MARGIN_MIB} MiB margin): lower smbdirect_probe_size_mib or free space`;
    case 'no-fio': return 'smbdirect_probe_tool is fio, but fio is not installed on this host (install it, or use dd / auto)';
    case 'mktemp': return 'could not make the private directory under /run';
    case 'exists': return `refused: ${w.slice(1).join(' ')} exists already (the probe never touches other data)`;
    case 'tcp-mount': return `the temporary TCP mount (vers=3.1.1 without rdma) of share ${m.share} on ${m.server} failed (exit ${w[1]})${out}`;
    case 'xfer': return `${w[1]} ${w[2]} failed (exit ${w[3]})${out}`;
    default: return `failed: ${w.join(' ')}${out}`;
  }
}

/** The report under the result: one row per mount, the figures in MB/s (10^6 bytes a second). */
export function probeTable(rows: Array<{ path: string; measure?: ProbeMeasure; note?: string }>): string {
  const f = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1));
  const head = ['mount', 'tool', 'RDMA write', 'RDMA read', 'TCP write', 'TCP read', 'RDMA/TCP read', 'client CPU s RDMA/TCP'];
  const body = rows.map(({ path, measure: p, note }) => (p
    ? [path, p.tool, f(p.rdma.writeMBps), f(p.rdma.readMBps), f(p.tcp.writeMBps), f(p.tcp.readMBps), `${p.ratio.toFixed(2)}x`, `${f(p.rdma.cpuSeconds)}/${f(p.tcp.cpuSeconds)}`]
    : [path, note ?? 'failed', '', '', '', '', '', '']));
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n(MB/s = 10^6 bytes a second; client CPU: the whole host's busy time during the transfers)`;
}

/** The largest probe file (MiB): 64 GiB. */
export const PROBE_MAX_MIB = 65536;

/** smbdirect_probe_size_mib (default 64) and smbdirect_probe_tool (auto), or what is wrong with them. */
export function probeVars(vars: Record<string, unknown>, host: string): { sizeMiB: number; tool: ProbeTool } | { error: string } {
  const raw = vars.smbdirect_probe_size_mib ?? 64;
  // -e k=v gives strings: "16" is as good as 16.
  const size = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0 || size > PROBE_MAX_MIB) {
    return { error: `smbdirect_probe_size_mib on ${host}: must be a whole number of MiB from 1 to ${PROBE_MAX_MIB}, found ${JSON.stringify(raw)}` };
  }
  const tool = vars.smbdirect_probe_tool ?? 'auto';
  if (tool !== 'auto' && tool !== 'fio' && tool !== 'dd') return { error: `smbdirect_probe_tool on ${host}: must be auto, fio or dd, found ${JSON.stringify(tool)}` };
  return { sizeMiB: size, tool };
}
