// Plans a play for one host against a virtual copy of its files, so later tasks see what
// earlier tasks will write, and no-op changes are dropped before anything reaches the host.
import { createRequire } from 'node:module';
import type * as Diff from 'diff';
import type { Change, Facts, FileState, Plan, StructuredResult, Task, Vars } from '../types.js';

export interface PlannedTask {
  task: Task;
  status: 'ok' | 'skip' | 'fail' | 'change';
  msg: string;
  changes: Change[];
  diffs: string[];
  warnings: string[];
  report?: string;
  /** The plan's checks, host info and probe results, for the reporters. */
  data?: StructuredResult;
}

/** The structured part of a plan, only the fields it has. */
function structured(plan: Plan): StructuredResult | undefined {
  const { checks, hostInfo, probe, serverProbe } = plan;
  if (!checks && !hostInfo && !probe && !serverProbe) return undefined;
  return { ...(checks && { checks }), ...(hostInfo && { hostInfo }), ...(probe && { probe }), ...(serverProbe && { serverProbe }) };
}

const HIDDEN = '(content hidden: sensitive file)\n';

// The diff package only when a file changes (#14): its ES build is 19 modules that a run without a
// change never uses. Its CommonJS build, so that planning stays synchronous.
const require = createRequire(import.meta.url);
let diff: typeof Diff | undefined;
const createTwoFilesPatch = (oldName: string, newName: string, before: string, after: string): string =>
  (diff ??= require('diff') as typeof Diff).createTwoFilesPatch(oldName, newName, before, after);

function fileDiff(path: string, before: string | undefined, after: string | undefined, sensitive?: boolean): string {
  if (sensitive) {
    const after_ = after === undefined ? '' : '(content hidden: sensitive file, new version)\n';
    return createTwoFilesPatch(`${path} (before)`, `${path} (after)`, before === undefined ? '' : HIDDEN, after_);
  }
  return createTwoFilesPatch(`${path} (before)`, `${path} (after)`, before ?? '', after ?? '');
}

type Attrs = { mode?: string; owner?: string; group?: string };
const isId = (v: string): boolean => /^\d+$/.test(v);

/** A numeric owner/group (chown 1000) is compared with the id stat gave, a name with the name. */
function idDiffers(want: string | undefined, name: string | undefined, id: string | undefined): boolean {
  if (want === undefined) return false;
  return isId(want) && id !== undefined ? Number(want) !== Number(id) : want !== name;
}

function attrsDiffer(cur: FileState, want: Attrs): boolean {
  const mode = (m?: string) => (m ? m.replace(/^0+(?=\d{3})/, '') : m);
  return (
    (want.mode !== undefined && mode(want.mode) !== mode(cur.mode)) ||
    idDiffers(want.owner, cur.owner, cur.uid) ||
    idDiffers(want.group, cur.group, cur.gid)
  );
}

/** The attributes after a change sets `want`: a numeric owner is an id (its name unknown), a name's id is unknown. */
function withAttrs(cur: FileState, want: Attrs): Pick<FileState, 'mode' | 'owner' | 'group' | 'uid' | 'gid'> {
  const id = (w: string | undefined, name: string | undefined, old: string | undefined) =>
    w === undefined ? [name, old] : [w, isId(w) ? w : undefined];
  const [owner, uid] = id(want.owner, cur.owner, cur.uid);
  const [group, gid] = id(want.group, cur.group, cur.gid);
  return { mode: want.mode ?? cur.mode, owner, group, uid, gid };
}

/** Under a cifs mount whose server does not answer, a write or a removal would block in the kernel (#16). */
function answers(cur: FileState, path: string): void {
  if (cur.unanswered) throw new Error(`${path} is on ${cur.unanswered}, a cifs mount whose server does not answer: nothing there is changed (see the verify task; bring the server back, or unmount it with the teardown playbook)`);
}

/** Keeps only the changes that would change something, updating the virtual files as it goes. */
function effective(changes: Change[], files: Map<string, FileState>, diffs: string[] | undefined, warnings: string[]): Change[] {
  const kept: Change[] = [];
  for (const c of changes) {
    const tracked = c.kind === 'file' || c.kind === 'dir' || c.kind === 'absent';
    // Idempotence needs the current state: a task must list every path it manages in reads().
    if (tracked && !files.has(c.path)) throw new Error(`task bug: it manages ${c.path} but does not list it in reads()`);
    const cur = files.get('path' in c ? c.path : '') ?? { path: '', exists: false };
    if (c.kind === 'file') {
      const same = cur.exists && !cur.isDir && cur.content === c.content;
      if (same && !attrsDiffer(cur, c)) continue;
      answers(cur, c.path);
      if (!same) diffs?.push(fileDiff(c.path, cur.exists ? cur.content : undefined, c.content, c.sensitive));
      kept.push(same ? { ...c, attrsOnly: true } : c);
      files.set(c.path, { ...cur, path: c.path, exists: true, isDir: false, content: c.content, ...withAttrs(cur, c) });
    } else if (c.kind === 'dir') {
      if (cur.exists && cur.isDir && !attrsDiffer(cur, c)) continue;
      answers(cur, c.path);
      kept.push(c);
      files.set(c.path, { path: c.path, exists: true, isDir: true, ...withAttrs(cur, c) });
      const list = files.get(`${c.path}/`);
      if (list && !list.exists) files.set(list.path, { path: list.path, exists: true, isDir: true, entries: [] });
    } else if (c.kind === 'absent') {
      if (!cur.exists) continue;
      answers(cur, c.path);
      if (cur.isDir) {
        // A directory is only ever rmdir'ed: its entries (the read "PATH/") must show it empty.
        const list = files.get(`${c.path}/`);
        if (!list?.entries) throw new Error(`task bug: it removes the directory ${c.path} but does not read ${c.path}/ (its entries)`);
        if (list.entries.length) {
          warnings.push(notEmpty(c.path, list.entries));
          continue;
        }
        files.set(`${c.path}/`, { path: `${c.path}/`, exists: false });
      } else diffs?.push(fileDiff(c.path, cur.content, undefined, true));
      kept.push(c);
      files.set(c.path, { path: c.path, exists: false });
    } else kept.push(c);
    if (tracked) listed(files, c.path, c.kind !== 'absent');
  }
  return kept;
}

/** The message for a directory kept because something is in it. */
export function notEmpty(dir: string, entries: string[]): string {
  const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', ...' : '');
  return `kept ${dir}: not empty (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}: ${shown})`;
}

/** Keeps the entries of PATH's parent (when read as "PARENT/") in step with a change that creates or removes PATH. */
function listed(files: Map<string, FileState>, path: string, present: boolean): void {
  const cut = path.lastIndexOf('/');
  const parent = files.get(`${path.slice(0, cut)}/`);
  if (!parent?.entries) return;
  const name = path.slice(cut + 1);
  const rest = parent.entries.filter((e) => e !== name);
  files.set(parent.path, { ...parent, entries: present ? [...rest, name].sort() : rest });
}

/**
 * `diff`: whether file changes get their unified diff (--diff). Without it none is made: at 500
 * hosts a first run made ~10,000 that nobody read (#14).
 */
export function planPlay(tasks: Task[], facts: Facts, vars: Vars, host: string, check: boolean, diff = true): PlannedTask[] {
  const files = new Map(Object.entries(facts.files));
  const view = (): Facts => ({ ...facts, files: Object.fromEntries(files) });
  return tasks.map((task) => {
    let plan: Plan;
    try {
      plan = task.plan({ host, vars, facts: view(), check });
    } catch (e) {
      plan = { status: 'fail', msg: (e as Error).message };
    }
    const warnings = [...(plan.warnings ?? [])];
    const report = plan.report;
    const data = structured(plan);
    if (plan.status === 'fail') {
      const local = (plan.changes ?? []).filter((c) => c.kind === 'local-file');
      return { task, status: 'fail', msg: plan.msg, changes: local, diffs: [], warnings, report, data };
    }
    if (plan.status !== 'change') return { task, status: plan.status, msg: plan.msg, changes: [], diffs: [], warnings, report, data };
    const diffs: string[] = [];
    let changes: Change[];
    try {
      changes = effective(plan.changes, files, diff ? diffs : undefined, warnings);
    } catch (e) {
      return { task, status: 'fail', msg: (e as Error).message, changes: [], diffs: [], warnings };
    }
    if (changes.length === 0) return { task, status: 'ok', msg: plan.msg ?? 'already as wanted', changes, diffs, warnings, report, data };
    return { task, status: 'change', msg: plan.msg ?? '', changes, diffs, warnings, report, data };
  });
}
