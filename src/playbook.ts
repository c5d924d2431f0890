// Playbooks are YAML lists of plays; a play names its hosts and the task modules it runs, in order.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { YAML } from './yaml.js';
import { PLAYBOOKS_DIR, TASKS_DIST_DIR } from './paths.js';
import { bundledTasks } from './bundled.js';
import { parseSerial, type SerialSize } from './engine/serial.js';
import type { Handler, Task, Vars } from './types.js';

export interface Play {
  name: string;
  hosts: string;
  vars: Vars;
  tags: string[];
  tasks: Task[];
  handlers: Map<string, Handler>;
  /** Rolling batches (Ansible's `serial`); none: all the play's hosts at once. */
  serial?: SerialSize[];
}

export interface Playbook {
  path: string;
  plays: Play[];
}

export class PlaybookError extends Error {}

/** A playbook by name (playbooks/NAME.yml) or by path. */
export function resolvePlaybook(ref: string): string {
  const byPath = resolve(ref);
  if (existsSync(byPath) && (ref.includes('/') || /\.ya?ml$/.test(ref))) return byPath;
  for (const ext of ['.yml', '.yaml']) {
    const p = resolve(PLAYBOOKS_DIR, ref + ext);
    if (existsSync(p)) return p;
  }
  throw new PlaybookError(`playbook "${ref}" not found: give a path, or one of the names in ${PLAYBOOKS_DIR}`);
}

const stringList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

async function loadTaskModule(ref: string, where: string): Promise<{ task: Task; handlers: Handler[] }> {
  const file = isAbsolute(ref) ? ref : resolve(TASKS_DIST_DIR, `${ref}.js`);
  if (!existsSync(file)) throw new PlaybookError(`${where}: task "${ref}" not found (looked for ${file}; run "npm run build"?)`);
  // the bundle's own copy when the CLI runs from it (bundled.ts), else the file itself
  const bundled = bundledTasks.get(relative(TASKS_DIST_DIR, file));
  const mod = (await (bundled ? bundled() : import(pathToFileURL(file).href))) as { default?: Task; handlers?: Handler[] };
  if (!mod.default || typeof mod.default.plan !== 'function')
    throw new PlaybookError(`${where}: ${file} has no default export with a plan() function`);
  return { task: mod.default, handlers: mod.handlers ?? [] };
}

/** The play's `serial`, checked before any task loads or host is contacted. */
function playSerial(p: Record<string, unknown>, path: string, i: number): SerialSize[] | undefined {
  if (p.serial === undefined || p.serial === null) return undefined;
  try {
    return parseSerial(p.serial);
  } catch (e) {
    throw new PlaybookError(`${path}: play ${i + 1} (${JSON.stringify(String(p.name ?? p.hosts))}): ${(e as Error).message}`);
  }
}

async function loadPlay(raw: unknown, path: string, i: number): Promise<Play> {
  const where = `${path}: play ${i + 1}`;
  if (!raw || typeof raw !== 'object') throw new PlaybookError(`${where} is not a mapping`);
  const p = raw as Record<string, unknown>;
  const serial = playSerial(p, path, i);
  if (typeof p.hosts !== 'string') throw new PlaybookError(`${where}: "hosts" is required (a host pattern such as smb_servers)`);
  if (!Array.isArray(p.tasks)) throw new PlaybookError(`${where}: "tasks" must be a list of task names`);
  const tasks: Task[] = [];
  const handlers = new Map<string, Handler>();
  for (const entry of p.tasks as unknown[]) {
    const e = typeof entry === 'string' ? { task: entry } : (entry as Record<string, unknown>);
    if (typeof e?.task !== 'string') throw new PlaybookError(`${where}: each task is a name or {task: NAME, tags: [...]}`);
    const loaded = await loadTaskModule(e.task, where);
    tasks.push({ ...loaded.task, tags: [...(loaded.task.tags ?? []), ...stringList(e.tags)], name: (e.name as string) ?? loaded.task.name });
    for (const h of loaded.handlers) handlers.set(h.name, h);
  }
  return { name: String(p.name ?? p.hosts), hosts: p.hosts, vars: (p.vars as Vars) ?? {}, tags: stringList(p.tags), tasks, handlers, serial };
}

async function readPlaybook(ref: string): Promise<{ path: string; doc: unknown[] }> {
  const path = resolvePlaybook(ref);
  let doc: unknown;
  try {
    doc = YAML.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new PlaybookError(`${path}: not valid YAML: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new PlaybookError(`${path}: a playbook is a YAML list of plays`);
  return { path, doc };
}

export async function loadPlaybook(ref: string): Promise<Playbook> {
  const { path, doc } = await readPlaybook(ref);
  return { path, plays: await Promise.all(doc.map((p, i) => loadPlay(p, path, i))) };
}

/** The host patterns of the plays, in order, read without loading any task (for early connections). */
export async function playHostPatterns(ref: string): Promise<string[]> {
  const { path, doc } = await readPlaybook(ref);
  // A bad serial stops the run before the first connections too.
  doc.forEach((p, i) => p && typeof p === 'object' && playSerial(p as Record<string, unknown>, path, i));
  return doc.flatMap((p) => (p && typeof (p as { hosts?: unknown }).hosts === 'string' ? [(p as { hosts: string }).hosts] : []));
}

/** Ansible's tag rules: --tags keeps tasks with a listed tag (or "always"); --skip-tags drops them. */
export function selectTasks(play: Play, tags: string[], skip: string[]): Task[] {
  return play.tasks.filter((t) => {
    const own = [...(t.tags ?? []), ...play.tags];
    if (own.some((x) => skip.includes(x))) return false;
    if (!tags.length || tags.includes('all')) return true;
    return own.includes('always') || own.some((x) => tags.includes(x));
  });
}
