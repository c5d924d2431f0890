// One play on one host: gather facts (one round trip), plan locally, apply (one round trip).
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { factsScript, parseFacts } from '../facts/index.js';
import { loadKconfigRead, saveKconfigRead } from '../facts/kconfig-cache.js';
import { UnreachableError } from '../connection/errors.js';
import type { Change, Connection, Facts, Handler, HostSpec, ProbeCommand, ResultStatus, Task, TaskResult } from '../types.js';
import { buildApplyScript, parseApplyOutput, type ApplyOptions, type StepReport } from './apply-script.js';
import { planPlay, type PlannedTask } from './plan.js';
import { redact } from '../secrets.js';

export const FACTS_TASK = 'Gathering Facts';

export interface PlayOnHost {
  conn: Connection;
  host: HostSpec;
  tasks: Task[];
  handlers: Map<string, Handler>;
  check: boolean;
  /** Unified diffs of file changes in the results (--diff). */
  diff?: boolean;
  timeoutMs?: number;
  /** Facts from an earlier play that changed nothing on this host. */
  cachedFacts?: Facts;
  /** Ctrl-C / SIGTERM (#16): fact gathering is abandoned at once (it changes nothing), no apply
   * starts, and an apply in flight is waited for `interruptGraceMs` at most. */
  interrupt?: Interrupt;
}

/** The run's stop request, as the runner hands it to each host. */
export interface Interrupt {
  /** The signal's name once one came. */
  readonly signal: string | undefined;
  /** Resolves with the signal's name when one comes. */
  readonly stopped: Promise<string>;
  readonly graceMs: number;
}

export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** `work`, or an InterruptedError `afterMs` after a signal came (the work is left running). */
function unlessInterrupted<T>(work: Promise<T>, i: Interrupt | undefined, afterMs: number, what: (signal: string) => string): Promise<T> {
  if (!i) return work;
  let timer: NodeJS.Timeout | undefined;
  const stop = i.stopped.then((signal) => new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InterruptedError(what(signal))), afterMs);
  }));
  work.catch(() => undefined); // settles after the connection is closed; nobody waits then
  return Promise.race([work, stop]).finally(() => clearTimeout(timer));
}

export interface HostPlayOutcome {
  facts?: Facts;
  /** One entry per task (index-aligned), plus the facts result first. */
  results: TaskResult[];
  handlerResults: TaskResult[];
  state: 'ok' | 'failed' | 'unreachable';
  /** Whether anything was sent to change the host (its facts are stale afterwards). */
  applied?: boolean;
}

const result = (host: string, task: string, status: ResultStatus, msg: string, extra: Partial<TaskResult> = {}): TaskResult =>
  ({ host, task, status, msg: redact(msg), ...extra });

/**
 * Facts for a play. `cached` holds facts from an earlier play of this run that applied nothing
 * to the host, so they still describe it: only reads and probes they lack are gathered, and when
 * none are missing there is no round trip at all.
 */
export async function gatherFacts(conn: Connection, tasks: Task[], host: HostSpec, timeoutMs?: number, cached?: Facts, interrupt?: Interrupt, check = false): Promise<Facts> {
  const allReads = [...new Set(tasks.flatMap((t) => t.reads?.(host.vars, host.name) ?? []))];
  const allProbes = Object.assign({}, ...tasks.map((t) => t.probes?.(host.vars, host.name, check) ?? {})) as Record<string, ProbeCommand>;
  const reads = cached ? allReads.filter((r) => !(r in cached.files)) : allReads;
  const probes = cached ? Object.fromEntries(Object.entries(allProbes).filter(([k]) => !(k in cached.probes))) : allProbes;
  if (cached && reads.length === 0 && Object.keys(probes).length === 0) return cached;
  const kconfig = cached ? undefined : loadKconfigRead(host.name);
  const out = await unlessInterrupted(conn.run(factsScript({ reads, probes, system: !cached, kconfig }), { timeoutMs }), interrupt, 0,
    (signal) => `interrupted (${signal}) while gathering facts: nothing was changed`);
  if (out.code !== 0) throw new Error(`fact gathering exited ${out.code}: ${out.stderr.trim().slice(0, 500)}`);
  const fresh = parseFacts(out.stdoutBytes, { reads, probes, kconfig });
  if (fresh.kconfigRead) saveKconfigRead(host.name, fresh.kconfigRead);
  if (!cached) return fresh;
  return { system: cached.system, files: { ...cached.files, ...fresh.files }, probes: { ...cached.probes, ...fresh.probes } };
}

function notified(planned: PlannedTask[], handlers: Map<string, Handler>): string[] {
  const names = new Set(planned.flatMap((p) => p.changes.flatMap((c) => c.notify ?? [])));
  for (const n of names) if (!handlers.has(n)) throw new Error(`a task notifies "${n}", but no handler has that name`);
  return [...handlers.keys()].filter((n) => names.has(n));
}

async function applyLocal(changes: Change[]): Promise<void> {
  for (const c of changes) {
    if (c.kind !== 'local-file') continue;
    await mkdir(dirname(c.path), { recursive: true });
    await writeFile(c.path, c.content);
  }
}

/** Who this controller run is, for the host's lock: user@host pid N. */
function controllerWho(): string {
  let user = process.env.USER ?? 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry: keep $USER */ }
  return `${user}@${hostname()} pid ${process.pid}`;
}

/**
 * What each file the apply will write or remove was when its facts were read, for the apply to
 * compare under the host's lock before it changes anything (#16: two operators at once).
 */
function expectations(tasks: Array<{ changes: Change[] }>, facts: Facts): ApplyOptions['expect'] {
  const out = new Map<string, string>();
  for (const c of tasks.flatMap((t) => t.changes)) {
    if (c.kind !== 'file' && c.kind !== 'upload' && c.kind !== 'absent') continue;
    const f = facts.files[c.path];
    if (!f || out.has(c.path)) continue;
    out.set(c.path, !f.exists ? 'missing' : f.isDir ? 'dir' : f.sha256 ?? 'exists');
  }
  return [...out];
}

function plannedResult(host: string, p: PlannedTask, check: boolean, step?: StepReport): TaskResult {
  const extra = { warnings: p.warnings, diff: p.diffs.join('') || undefined, report: p.report, ...p.data };
  if (p.status === 'ok') return result(host, p.task.name, 'ok', p.msg, extra);
  if (p.status === 'skip') return result(host, p.task.name, 'skipped', p.msg, extra);
  if (p.status === 'fail') return result(host, p.task.name, 'failed', p.msg, extra);
  if (check) return result(host, p.task.name, 'changed', p.msg, extra);
  if (!step) return result(host, p.task.name, 'changed', p.msg, extra); // local-only changes
  if (step.warnings.length) extra.warnings = [...(extra.warnings ?? []), ...step.warnings];
  if (step.status === 'failed')
    return result(host, p.task.name, 'failed', `${p.msg ? p.msg + ': ' : ''}exit ${step.rc}: ${step.log.trim().slice(-2000)} (files of this task restored)`, { ...extra, diff: undefined });
  return result(host, p.task.name, step.changed ? 'changed' : 'ok', step.changed ? p.msg : 'nothing to do', { ...extra, diff: step.changed ? extra.diff : undefined, stdout: redact(step.log) });
}

export async function runPlayOnHost(o: PlayOnHost): Promise<HostPlayOutcome> {
  const name = o.host.name;
  let facts: Facts;
  try {
    facts = await gatherFacts(o.conn, o.tasks, o.host, o.timeoutMs, o.cachedFacts, o.interrupt, o.check);
  } catch (e) {
    const status = e instanceof UnreachableError && !o.interrupt?.signal ? 'unreachable' : 'failed';
    return { results: [result(name, FACTS_TASK, status, (e as Error).message)], handlerResults: [], state: status };
  }
  const results = [result(name, FACTS_TASK, 'ok', '')];
  const planned = planPlay(o.tasks, facts, o.host.vars, name, o.check, o.diff ?? true);
  const firstFail = planned.findIndex((p) => p.status === 'fail');
  const live = firstFail === -1 ? planned : planned.slice(0, firstFail + 1);
  if (o.check) {
    results.push(...live.map((p) => plannedResult(name, p, true)));
    return { facts, results, handlerResults: [], state: firstFail === -1 ? 'ok' : 'failed' };
  }
  const handlerNames = notified(live.slice(0, firstFail === -1 ? undefined : firstFail), o.handlers);
  const remote = live.map((p, id) => ({ id, changes: p.status === 'change' ? p.changes.filter((c) => c.kind !== 'local-file') : [] }));
  const handlerBlocks = handlerNames.map((n, id) => ({ id, name: n, changes: o.handlers.get(n)!.changes(o.host.vars, name) }));
  const toRun = remote.filter((t, i) => t.changes.length > 0 && live[i]!.status === 'change');
  let unreachable = false;
  let steps = new Map<string, StepReport>();
  let cutShort: string | undefined; // why the script stopped before its end marker
  if (toRun.length > 0 && o.interrupt?.signal) {
    cutShort = `interrupted (${o.interrupt.signal}) before the apply: nothing was changed`;
  } else if (toRun.length > 0) {
    try {
      const script = buildApplyScript(toRun, firstFail === -1 ? handlerBlocks : [], { lock: { who: controllerWho() }, expect: expectations(toRun, facts) });
      const apply = o.conn.run(script, { timeoutMs: o.timeoutMs });
      const out = await unlessInterrupted(apply, o.interrupt, o.interrupt?.graceMs ?? 0, (signal) =>
        `interrupted (${signal}) during the apply, not finished within ${(o.interrupt!.graceMs / 1000).toFixed(0)}s: the controller closed the connection; ` +
        'the host goes on by itself and finishes or restores each task (run again to see where it stands)');
      const parsed = parseApplyOutput(out.stdout);
      steps = new Map(parsed.steps.map((s) => [s.label, s]));
      if (parsed.warnings.length) results[0]!.warnings = [...(results[0]!.warnings ?? []), ...parsed.warnings];
      if (!parsed.ended && !parsed.steps.some((s) => s.status === 'failed'))
        cutShort = parsed.abort ?? `the apply script ended early (exit ${out.code}): ${out.stderr.trim().slice(-500)}`;
    } catch (e) {
      cutShort = (e as Error).message;
      if (e instanceof UnreachableError && !o.interrupt?.signal) unreachable = true;
    }
  }
  for (const p of live) if ((p.status === 'change' || p.status === 'fail') && !cutShort) await applyLocal(p.changes);
  let state: HostPlayOutcome['state'] = firstFail === -1 ? 'ok' : 'failed';
  for (const [i, p] of live.entries()) {
    const ranRemote = remote[i]!.changes.length > 0 && p.status === 'change';
    const step = steps.get(`task:${i}`);
    if (ranRemote && !step) {
      // Never reached: either an earlier task failed (already reported) or the session died here.
      if (cutShort) results.push(result(name, p.task.name, unreachable ? 'unreachable' : 'failed', cutShort));
      state = unreachable ? 'unreachable' : 'failed';
      break;
    }
    const r = plannedResult(name, p, false, ranRemote ? step : undefined);
    results.push(r);
    if (r.status === 'failed') { state = 'failed'; break; }
  }
  const handlerResults = handlerBlocks
    .map((h) => ({ h, step: steps.get(`handler:${h.id}`) }))
    .filter((x) => x.step)
    .map(({ h, step }) => result(name, h.name, step!.status === 'failed' ? 'failed' : 'changed', step!.status === 'failed' ? `exit ${step!.rc}: ${step!.log.trim().slice(-2000)}` : ''));
  if (handlerResults.some((r) => r.status === 'failed')) state = 'failed';
  return { facts, results, handlerResults, state, applied: toRun.length > 0 || live.some((p) => p.changes.some((c) => c.kind === 'local-file')) };
}
