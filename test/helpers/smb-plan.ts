// Planning SMB Direct tasks against fixture facts, the way the engine does (planPlay): reads()
// and probes() are honoured, no-op file changes are dropped. `converge` applies what a plan would
// write to the virtual files, so a second plan shows idempotence at plan level.
import { planPlay, type PlannedTask } from '../../src/engine/plan.js';
import type { SystemFacts } from '../../src/facts/index.js';
import type { Change, Facts, FileState, Task, Vars } from '../../src/types.js';
import { loadFixtureFacts, type FixtureName } from '../fixtures/facts/index.js';

export const CLUSTER = { servers: { srv1: { address: '10.0.0.11', shares: ['share', 'projects', 'data'] } } };

/** Fixture facts with every path the tasks read (missing unless given) and the given probes. */
export function factsFor(fixture: FixtureName, tasks: Task[], vars: Vars, host: string, files: Record<string, Partial<FileState>> = {}, probes: Facts['probes'] = {}): Facts {
  const f = loadFixtureFacts(fixture);
  for (const t of tasks) for (const p of t.reads?.(vars, host) ?? []) f.files[p] ??= { path: p, exists: false };
  for (const [p, s] of Object.entries(files)) f.files[p] = { path: p, exists: true, ...s };
  f.probes = { ...f.probes, ...probes };
  return f;
}

export const sys = (f: Facts): SystemFacts => f.system as unknown as SystemFacts;

export function plan(tasks: Task[], facts: Facts, vars: Vars, host = 'h1'): PlannedTask[] {
  return planPlay(tasks, facts, vars, host, false);
}

/** The facts after the planned file/dir/absent changes were applied (commands and services are left to the caller). */
export function converge(facts: Facts, planned: PlannedTask[]): Facts {
  const files = { ...facts.files };
  for (const c of planned.flatMap((p) => p.changes)) {
    const cur = files[('path' in c ? c.path : '') as string];
    if (c.kind === 'file') files[c.path] = { path: c.path, exists: true, isDir: false, content: c.content, mode: c.mode ?? cur?.mode ?? '0644', owner: c.owner ?? cur?.owner ?? 'root', group: c.group ?? cur?.group ?? 'root' };
    if (c.kind === 'dir') files[c.path] = { path: c.path, exists: true, isDir: true, mode: c.mode ?? cur?.mode ?? '0755', owner: c.owner ?? cur?.owner ?? 'root', group: c.group ?? cur?.group ?? 'root' };
    if (c.kind === 'absent') files[c.path] = { path: c.path, exists: false };
  }
  return { ...facts, files };
}

export const kinds = (cs: Change[]): string[] => cs.map((c) => (c.kind === 'command' ? `command: ${c.desc}` : c.kind === 'service' ? `service ${c.name}${c.enabled !== undefined ? ` enabled=${c.enabled}` : ''}${c.state ? ` ${c.state}` : ''}` : `${c.kind} ${'path' in c ? c.path : ''}`));

/** Everything of a plan a user or a log may see: messages, warnings, reports, diffs, and every change except sensitive file contents. */
export function visibleText(planned: PlannedTask[]): string {
  return JSON.stringify(planned.map((p) => ({
    msg: p.msg, warnings: p.warnings, report: p.report, diffs: p.diffs,
    changes: p.changes.map((c) => (c.kind === 'file' && c.sensitive ? { ...c, content: undefined } : c)),
  })));
}
