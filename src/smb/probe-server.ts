// The server side of the throughput probe read back: the start probe's lines (did the sampler
// start, which share directories it watches) and the collect probe's (the sampler's marks), turned
// into the server CPU seconds of each client probe's phases (src/smb/probe-sampler.ts prints them).
import type { ServerPhaseCpu, ServerProbeMeasure } from '../types.js';
import { LABELS, type Label } from './probe.js';

export type StartVerdict = { ok: true; started?: { pid: number; idleS: number }; shares: string[]; missing: string[] } | { ok: false; why: string };

/** What the start probe says: started (or, under --check, would start), or why not. */
export function startVerdict(stdout: string, code: number): StartVerdict {
  const words = stdout.split('\n').map((l) => l.split(' '));
  const pick = (k: string) => words.filter((w) => w[0] === k).map((w) => w.slice(1).join(' '));
  const fail = words.find((w) => w[0] === 'fail');
  const [shares, missing] = [pick('share'), pick('missing')];
  if (fail) return { ok: false, why: failText(fail.slice(1), missing) };
  const started = words.find((w) => w[0] === 'started');
  if (started) return { ok: true, started: { pid: Number(started[1]), idleS: Number(started[2]) }, shares, missing };
  if (words.some((w) => w[0] === 'checked')) return { ok: true, shares, missing };
  return { ok: false, why: code === 124 ? 'the start probe hit its time limit' : `the start probe did not finish (exit ${code})` };
}

function failText(w: string[], missing: string[]): string {
  switch (w[0]) {
    case 'no-share': return `none of the share directories exists (${missing.join(', ')}): run the server playbook first`;
    case 'no-setsid': return 'setsid is not installed (util-linux or busybox): the sampler cannot run detached';
    case 'busy': return `a sampler of another probe run is still running (PID ${w[1]}); it ends by itself once that run is over`;
    case 'mkdir': return 'could not make the private directory under /run';
    default: return `failed: ${w.join(' ')}`;
  }
}

interface Mark { id: string; label: Label; edge: 'start' | 'end'; busy: number; ksmbd: Map<string, number>; seq: number }

export interface SamplerOutput {
  /** Collect found no sampler (it ended at its time limit, or never started). */
  none: boolean;
  hz: number;
  marks: Mark[];
  who: Map<string, { client: string; path: string }>;
  /** How the sampler ended: stopped (by collect), idle (its time limit), killed, or undefined. */
  end?: 'stopped' | 'idle' | 'killed';
  /** "ok", or what was left behind. */
  cleanup?: string;
}

const labelOf = (phase: string): Label | undefined => LABELS.find((l) => l.replace(' ', '-') === phase);

/** Reads the collect probe's stdout. */
export function parseSampler(stdout: string): SamplerOutput {
  const o: SamplerOutput = { none: false, hz: 100, marks: [], who: new Map() };
  for (const line of stdout.split('\n')) {
    const inner = line.startsWith('| ') ? line.slice(2) : undefined;
    const w = (inner ?? line).split(' ');
    if (inner === undefined) {
      if (line === 'none') o.none = true;
      else if (w[0] === 'killed') o.end = 'killed';
      else if (w[0] === 'cleanup') o.cleanup = w[1] === 'ok' ? 'ok' : w.slice(2).join(' ');
    } else if (w[0] === 'begin' && Number(w[1]) > 0) o.hz = Number(w[1]);
    else if (w[0] === 'mark') markLine(o, w);
    else if (w[0] === 'who' && w[1] && w[2]) o.who.set(w[1], { client: w[2], path: w.slice(3).join(' ') });
    else if (inner === 'stopped' || inner === 'idle') o.end ??= inner;
  }
  return o;
}

/** "mark ID PHASE EDGE USER NICE SYSTEM IRQ SOFTIRQ ksmbd[ PID:TICKS]..." */
function markLine(o: SamplerOutput, w: string[]): void {
  const label = labelOf(w[2] ?? '');
  const edge = w[3];
  if (!label || (edge !== 'start' && edge !== 'end') || !/^[0-9a-f]+$/.test(w[1] ?? '')) return;
  const busy = w.slice(4, 9).reduce((a, v) => a + (Number(v) || 0), 0);
  const ksmbd = new Map(w.slice(10).map((x) => x.split(':')).filter((x) => x.length === 2 && Number.isFinite(Number(x[1]))).map((x) => [x[0]!, Number(x[1])]));
  o.marks.push({ id: w[1]!, label, edge, busy, ksmbd, seq: o.marks.length });
}

const round = (n: number): number => Math.round(n * 100) / 100;

interface Phase { id: string; label: Label; start: Mark; end: Mark }

function phases(o: SamplerOutput): Phase[] {
  const out: Phase[] = [];
  for (const end of o.marks.filter((m) => m.edge === 'end')) {
    const start = o.marks.find((m) => m.edge === 'start' && m.id === end.id && m.label === end.label);
    if (start && start.seq < end.seq) out.push({ id: end.id, label: end.label, start, end });
  }
  return out;
}

/** The ksmbd threads' ticks over a phase: threads alive at its end, less what they had at its start. */
function ksmbdTicks(p: Phase): number | undefined {
  if (!p.end.ksmbd.size) return undefined;
  return [...p.end.ksmbd].reduce((a, [pid, t]) => a + Math.max(0, t - (p.start.ksmbd.get(pid) ?? 0)), 0);
}

const add = (a: ServerPhaseCpu | undefined, b: ServerPhaseCpu | undefined): ServerPhaseCpu | undefined => {
  if (!a || !b) return undefined;
  const k = a.ksmbdSeconds !== undefined && b.ksmbdSeconds !== undefined ? { ksmbdSeconds: round(a.ksmbdSeconds + b.ksmbdSeconds) } : {};
  return { cpuSeconds: round(a.cpuSeconds + b.cpuSeconds), ...k };
};

/** Per client probe (by ID): the server CPU of each phase seen whole, and how many probes overlapped it. */
export function serverMeasures(server: string, o: SamplerOutput): ServerProbeMeasure[] {
  const all = phases(o);
  const span = new Map<string, [number, number]>();
  for (const m of o.marks) {
    const s = span.get(m.id) ?? [m.seq, m.seq];
    span.set(m.id, [Math.min(s[0], m.seq), Math.max(s[1], m.seq)]);
  }
  return [...span.keys()].map((id) => {
    const [a, b] = span.get(id)!;
    const concurrent = [...span.values()].filter(([c, d]) => c <= b && d >= a).length;
    const list: ServerProbeMeasure['phases'] = {};
    for (const p of all.filter((x) => x.id === id)) {
      const k = ksmbdTicks(p);
      list[p.label] = { cpuSeconds: round((p.end.busy - p.start.busy) / o.hz), ...(k !== undefined ? { ksmbdSeconds: round(k / o.hz) } : {}) };
    }
    const who = o.who.get(id);
    const rdma = add(list['rdma write'], list['rdma read']);
    const tcp = add(list['tcp write'], list['tcp read']);
    return { server, id, ...(who ? { client: who.client, path: who.path } : {}), phases: list, ...(rdma ? { rdma } : {}), ...(tcp ? { tcp } : {}), concurrent };
  });
}

/** The collect task's table: one row per client probe the sampler saw. */
export function serverProbeTable(rows: ServerProbeMeasure[]): string {
  const f = (c: ServerPhaseCpu | undefined, k: keyof ServerPhaseCpu) => (c?.[k] === undefined ? '-' : c[k]!.toFixed(2));
  const head = ['client', 'mount', 'probe id', 'server CPU s RDMA/TCP', 'ksmbd threads s RDMA/TCP', 'probes at once'];
  const body = rows.map((m) => [m.client ?? '-', m.path ?? '-', m.id, `${f(m.rdma, 'cpuSeconds')}/${f(m.tcp, 'cpuSeconds')}`, `${f(m.rdma, 'ksmbdSeconds')}/${f(m.tcp, 'ksmbdSeconds')}`, String(m.concurrent)]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return `${all.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n(server CPU: the whole host's busy time between the client's phase markers, write + read)`;
}

/** The overlap note: host-wide CPU cannot be split between clients probed at once. */
export function overlapNote(rows: ServerProbeMeasure[]): string | undefined {
  const n = Math.max(0, ...rows.map((r) => r.concurrent));
  return n > 1 ? `server CPU is host-wide: ${n} clients probed at once (--forks 1 measures one at a time)` : undefined;
}
